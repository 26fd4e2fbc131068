"""Endpoints resolved once per bucket instead of once per request.

Before every call botocore resolves the endpoint from S3's endpoint rule set:
it gathers the rule set's 17 parameters (bucket, region, path style, FIPS...)
from the operation, the call's arguments, the client's settings and its
"built-ins", which handlers of ``before-endpoint-resolution`` may change per
call (the region redirector, for one), then looks the answer up in its cache
of evaluations. That is about 6% of the instructions a PutObject costs, and
for a deploy's thousands of calls to one bucket it gives the same endpoint
each time: the object key, the one argument that changes, is never read by
the rule set (botocore itself leaves it out of the evaluation).

So the deploy client's resolver keeps the endpoint per operation, per call
argument the rule set reads, and per value of the built-ins after this call's
handlers have run: the handlers still run on every call, so a redirected
region, or any other change they make, is a new entry, never a stale one. A
new entry is resolved by botocore itself, from the built-ins those handlers
chose. A call that reuses an entry registers the same User-Agent feature ids
the resolution registered, and gets its own copy of the headers, as from
botocore. Anything the cache cannot key safely (an argument that is not
hashable, a built-in computed on demand, parameters taken from the call's
arguments by a JMESPath expression) is resolved by botocore as before.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from botocore.client import BaseClient

_UNCACHED = object()
# Entries are per operation, bucket and region: a deploy needs a handful.
MAX_ENTRIES = 256


class CachedEndpoints:
    """A resolver's ``construct_endpoint``, remembered per set of inputs."""

    def __init__(self, resolver: Any) -> None:
        self._resolver = resolver
        self._construct = resolver.construct_endpoint
        self._customize = resolver._get_customized_builtins
        self._register = resolver._register_endpoint_feature_ids
        definitions = resolver._param_definitions
        # Parameters the rule set never reads: botocore leaves them out of the
        # evaluation, so they cannot change the endpoint.
        self._unread = frozenset(getattr(resolver._provider, "_excluded_params", ()))
        self._builtin_names = tuple(
            sorted({d.builtin for d in definitions.values() if d.builtin is not None})
        )
        # name -> (endpoint, feature ids registered while resolving it)
        self._found: dict[Hashable, tuple[Any, list[tuple[str, Any]]]] = {}
        # While botocore resolves a new entry in this thread: the built-ins the
        # handlers already chose for the call, and the feature ids it registers.
        self._resolving = threading.local()

    def install(self) -> None:
        resolver = self._resolver
        resolver.construct_endpoint = self
        resolver._get_customized_builtins = self._builtins
        resolver._register_endpoint_feature_ids = self._registering

    def __call__(
        self,
        operation_model: Any,
        call_args: dict[str, Any] | None,
        request_context: dict[str, Any] | None,
    ) -> Any:
        call_args = call_args if call_args is not None else {}
        request_context = request_context if request_context is not None else {}
        if getattr(operation_model, "operation_context_parameters", None):
            return self._construct(operation_model, call_args, request_context)
        # The handlers run on every call, as in botocore: the key holds what they chose.
        builtins = self._customize(operation_model, call_args, request_context)
        key = self._key(operation_model, call_args, builtins)
        found = self._found.get(key) if key is not _UNCACHED else None
        if found is None:
            registered: list[tuple[str, Any]] = []
            self._resolving.builtins = builtins
            self._resolving.registered = registered
            try:
                endpoint = self._construct(operation_model, call_args, request_context)
            finally:
                self._resolving.builtins = None
                self._resolving.registered = None
            if key is not _UNCACHED:
                if len(self._found) >= MAX_ENTRIES:
                    self._found.clear()  # a client of many buckets: bounded, not stale
                self._found[key] = (endpoint, registered)
        else:
            endpoint, registered = found
            dynamic = self._resolver._get_dynamic_context_params(operation_model)
            for name, value in registered:
                if name in self._unread:  # as botocore would: from this call
                    value = call_args.get(dynamic.get(name, name))
                    if value is None:
                        continue
                self._register(name, value)
        # botocore builds the headers afresh for every call; so do we.
        return endpoint._replace(headers=dict(endpoint.headers))

    def _builtins(
        self, operation_model: Any, call_args: dict[str, Any], request_context: dict[str, Any]
    ) -> dict[str, Any]:
        given = getattr(self._resolving, "builtins", None)
        if given is not None:
            return given  # chosen for this call already: the handlers ran once
        return self._customize(operation_model, call_args, request_context)

    def _registering(self, name: str, value: Any) -> None:
        registered = getattr(self._resolving, "registered", None)
        if registered is not None:
            registered.append((name, value))
        self._register(name, value)

    def _key(
        self, operation_model: Any, call_args: dict[str, Any], builtins: dict[str, Any]
    ) -> Any:
        dynamic = self._resolver._get_dynamic_context_params(operation_model)
        args = tuple(
            (name, call_args.get(member))
            for name, member in dynamic.items()
            if name not in self._unread
        )
        chosen = tuple(builtins.get(name) for name in self._builtin_names)
        if any(callable(value) for value in chosen):
            return _UNCACHED  # computed when asked: not for us to remember
        key = (operation_model.name, args, chosen)
        try:
            hash(key)
        except TypeError:
            return _UNCACHED
        return key


def cache_endpoints(client: BaseClient) -> bool:
    """Give ``client``'s endpoint resolver the cache; False (nothing changed) where
    this botocore resolves endpoints some other way."""
    resolver = getattr(client, "_ruleset_resolver", None)
    needed = (
        "construct_endpoint",
        "_get_customized_builtins",
        "_get_dynamic_context_params",
        "_register_endpoint_feature_ids",
        "_param_definitions",
        "_provider",
    )
    if resolver is None or not all(hasattr(resolver, name) for name in needed):
        return False
    # Each client has its own resolver, so this changes no other client.
    CachedEndpoints(resolver).install()
    return True
