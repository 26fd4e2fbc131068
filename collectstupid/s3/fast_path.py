"""Whether the deploy's S3 client may use botocore's internals, and why not where it may not.

Replayed PutObjects (replay.py) rely on botocore's private attributes. They
run only on the botocore releases the test matrix covers, when the setting
allows them, and when nothing but botocore itself listens to the calls they
skip; otherwise every request goes through botocore's public path. See
docs/cpu.md, "The fast path's guards".
"""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass
from typing import Any

import botocore
from botocore.client import BaseClient

# The botocore releases the test matrix runs: the lowest-versions environment
# installs LOWEST (the declared floor), the newest-versions one the latest
# release, which a test requires to be inside NEWEST_SERIES (1.44.x).
LOWEST = (1, 36, 0)
NEWEST_SERIES = (1, 44)
TESTED = f"{'.'.join(map(str, LOWEST))} to {'.'.join(map(str, NEWEST_SERIES))}.x"

# The events of a PutObject through botocore that a replayed one does not emit
# (it emits only before-send): a handler there would miss the replayed files.
SKIPPED_EVENTS = (
    "provide-client-params",
    "before-parameter-build",
    "before-call",
    "before-endpoint-resolution",
    "choose-signer",
    "before-sign",
    "request-created",
    "needs-retry",
    "after-call",
    "after-call-error",
)
# Handlers from these packages are botocore's own (and ours): they do per call
# what the replay does per file, or nothing that a deploy's PutObject needs.
OWN_PACKAGES = ("botocore", "boto3", "s3transfer", "collectstupid")


def version(text: str) -> tuple[int, ...]:
    """``"1.44.8"`` -> ``(1, 44, 8)``; a part that is not a number ends it."""
    parts = []
    for part in text.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def in_tested_range(text: str) -> bool:
    """Whether botocore ``text`` is one the test matrix covers."""
    found = version(text)
    return found >= LOWEST and found[:2] <= NEWEST_SERIES


def _module(handler: Any) -> str:
    """The module a handler's code comes from."""
    while isinstance(handler, functools.partial):
        handler = handler.func
    target = getattr(handler, "__func__", handler)  # a bound method's function
    if isinstance(target, types.FunctionType | types.BuiltinFunctionType):
        return str(target.__module__ or "")
    return type(handler).__module__  # an object with __call__


def _is_own(handler: Any) -> bool:
    module = _module(handler)
    return any(module == p or module.startswith(p + ".") for p in OWN_PACKAGES)


def _describe(handler: Any) -> str:
    target = handler.func if isinstance(handler, functools.partial) else handler
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{_module(handler)}.{name}"


def foreign_handlers(client: BaseClient, operation: str = "PutObject") -> list[str]:
    """``event: handler`` for each handler not botocore's own on the events replay skips."""
    # The client's emitter, under botocore's event-name aliasing (private, like
    # the rest of the fast path: only used inside the tested range).
    emitter = client.meta.events._emitter
    found = []
    for event in SKIPPED_EVENTS:
        name = f"{event}.s3.{operation}"
        for handler in emitter._handlers.prefix_search(name):
            if not _is_own(handler):
                found.append(f"{_describe(handler)} on {event}")
    return found


def api_call_wrapped(client: BaseClient) -> str | None:
    """What replaced botocore's ``_make_api_call`` for ``client`` (tracing libraries
    wrap it), or None where it is botocore's own."""
    method = type(client)._make_api_call
    code = getattr(method, "__code__", None)
    if (
        isinstance(method, types.FunctionType)
        and code is not None
        and code.co_filename == BaseClient._make_api_call.__code__.co_filename
        and method.__qualname__ == "BaseClient._make_api_call"
        and method.__module__ == "botocore.client"
    ):
        return None
    return _describe(method)


@dataclass(frozen=True)
class Decision:
    """Whether the client uses botocore's internals, and the line that says so (-v 2)."""

    on: bool
    note: str


PUBLIC = "S3: every request goes through botocore's public API"


def decide(client: BaseClient, setting: bool | None) -> Decision:
    """The path for ``client``, given ``COLLECTSTUPID['FAST_PATH']`` (None: automatic)."""
    installed = botocore.__version__
    if setting is False:
        return Decision(False, f"{PUBLIC}: COLLECTSTUPID['FAST_PATH'] is False.")
    if not in_tested_range(installed):
        return Decision(
            False,
            f"{PUBLIC}: botocore {installed} is outside the releases collectstupid's "
            f"fast path is tested with ({TESTED}).",
        )
    if setting is None:
        try:
            listeners = foreign_handlers(client)
            wrapped = api_call_wrapped(client)
        except AttributeError:
            return Decision(False, f"{PUBLIC}: botocore's event handlers could not be read.")
        if wrapped is not None:
            listeners.insert(0, f"{wrapped} in place of _make_api_call")
        if listeners:
            return Decision(
                False,
                f"{PUBLIC}, so that every call reaches {', '.join(listeners)}. "
                "COLLECTSTUPID['FAST_PATH'] = True replays small files anyway.",
            )
    return Decision(
        True,
        f"S3: small files are sent from replayed botocore requests (botocore {installed}; "
        "COLLECTSTUPID['FAST_PATH'] = False sends them through botocore's public API).",
    )


def breaker_note(exc: BaseException) -> str:
    """The line saying a replay failed without an answer, and what the run does now."""
    return (
        f"S3: a replayed request failed without an answer from the server "
        f"({type(exc).__name__}: {exc}); the rest of this run goes through botocore's "
        "public API."
    )
