"""Endpoint rule-set parameters, worked out once per bucket instead of once per request.

Before every call botocore gathers the parameters of S3's endpoint rule set
(17 of them: bucket, region, path style, FIPS...) from the operation, the
call's arguments, the client's settings and its "built-ins", which handlers of
``before-endpoint-resolution`` may change per call (the region redirector, for
one). That gathering is about 5% of the instructions a PutObject costs, and for
a deploy's thousands of calls to one bucket it gives the same answer each
time, bar the object key, which the rule set never reads (botocore drops it
before resolving, and caches the resolution itself).

So the deploy client's resolver keeps the answer per operation, per call
argument the rule set reads, and per value of the built-ins after this call's
handlers have run: the handlers still run on every call, so a redirected
region or any other change they make is a new entry, never a stale one. The
arguments the rule set does not read are taken from each call as botocore
would. Anything the cache cannot key safely (an argument that is not
hashable, a built-in computed on demand, parameters taken from the call's
arguments by a JMESPath expression) is resolved by botocore as before.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from botocore.client import BaseClient

_UNCACHED = object()
# Entries are per operation, bucket and region: a deploy needs a handful.
MAX_ENTRIES = 256


class CachedProviderParams:
    """A resolver's ``_get_provider_params``, remembered per set of inputs."""

    def __init__(self, resolver: Any) -> None:
        self._resolver = resolver
        self._resolve = resolver._get_provider_params
        self._definitions = resolver._param_definitions
        # Parameters the rule set never reads: botocore itself leaves them out
        # of the resolution (and so of its cache).
        self._unread = frozenset(getattr(resolver._provider, "_excluded_params", ()))
        self._builtin_names = tuple(
            sorted({d.builtin for d in self._definitions.values() if d.builtin is not None})
        )
        self._found: dict[Hashable, dict[str, Any]] = {}

    def __call__(
        self, operation_model: Any, call_args: dict[str, Any], request_context: dict[str, Any]
    ) -> dict[str, Any]:
        resolver = self._resolver
        if operation_model.operation_context_parameters:
            return self._resolve(operation_model, call_args, request_context)
        # The handlers run on every call, as in botocore: the key holds what they chose.
        builtins = resolver._get_customized_builtins(operation_model, call_args, request_context)
        key = self._key(operation_model, call_args, builtins)
        found = self._found.get(key) if key is not _UNCACHED else None
        if found is None:
            found = self._read(operation_model, call_args, builtins)
            if key is not _UNCACHED:
                if len(self._found) >= MAX_ENTRIES:
                    self._found.clear()  # a client of many buckets: bounded, not stale
                self._found[key] = found
        dynamic = resolver._get_dynamic_context_params(operation_model)
        params = {}
        for name, value in found.items():
            if name in self._unread:
                # Read from this call, as botocore does (the key, a prefix).
                member = dynamic.get(name)
                value = call_args.get(member) if member else None
                if value is None:
                    value = self._value(name, operation_model, call_args, builtins)
            if value is not None:
                params[name] = value
                resolver._register_endpoint_feature_ids(name, value)
        return params

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

    def _read(
        self, operation_model: Any, call_args: dict[str, Any], builtins: dict[str, Any]
    ) -> dict[str, Any]:
        """botocore's gathering, from built-ins already customized, in its order; None
        where a parameter has no value, or is one the rule set does not read."""
        return {
            name: None
            if name in self._unread
            else self._value(name, operation_model, call_args, builtins)
            for name in self._definitions
        }

    def _value(
        self, name: str, operation_model: Any, call_args: dict[str, Any], builtins: dict[str, Any]
    ) -> Any:
        resolver = self._resolver
        value = resolver._resolve_param_from_context(
            param_name=name, operation_model=operation_model, call_args=call_args
        )
        builtin = self._definitions[name].builtin
        if value is None and builtin is not None:
            value = resolver._resolve_param_as_builtin(builtin_name=builtin, builtins=builtins)
        return value


def cache_endpoint_params(client: BaseClient) -> bool:
    """Give ``client``'s endpoint resolver the cache; False (nothing changed) where
    this botocore resolves endpoints some other way."""
    resolver = getattr(client, "_ruleset_resolver", None)
    needed = (
        "_get_provider_params",
        "_get_customized_builtins",
        "_get_dynamic_context_params",
        "_resolve_param_from_context",
        "_resolve_param_as_builtin",
        "_register_endpoint_feature_ids",
        "_param_definitions",
        "_provider",
    )
    if resolver is None or not all(hasattr(resolver, name) for name in needed):
        return False
    # Each client has its own resolver, so this changes no other client.
    resolver._get_provider_params = CachedProviderParams(resolver)
    return True
