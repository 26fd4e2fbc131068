"""Count the S3 requests a process sends, where every one of them passes: botocore's
``Endpoint._send``, process-wide.

Every HTTP attempt goes through ``Endpoint._send`` once: the attempts of
botocore's API calls, retries included, and requests a program builds itself
and sends through a client's endpoint (collectstupid's replayed PutObjects).
Nothing a program may inspect is replaced: not a client's ``_make_api_call``,
not an event handler. ``Endpoint.make_request`` is wrapped too, only to tell
the two kinds of request apart; it is what botocore's API calls go through.

How each figure is derived at the wire:

* ``attempts``: every request handed to ``_send``, whether it got an answer or
  raised (a reset connection, a read timeout).
* ``operations``: logical calls, by the S3 operation the method, path-style
  URL, query and ``x-amz-copy-source`` header name. A request of botocore's
  carries its call's ``amz-sdk-invocation-id``, the same on every retry of that
  call: a call counts once, however many attempts it took. A request sent
  outside botocore's API calls counts as a call of its own when its answer is
  2xx; when it fails, it is an attempt only: it stands for the first attempt
  of the call the program makes next to send the same thing through botocore.
* ``failures``: calls whose last attempt got a non-2xx answer or none: a 404
  GET of a manifest not written yet, a 412 conditional write, a call that ran
  out of attempts. A call answered 2xx after 5xx answers or resets is no failure.
* ``replayed``: the calls counted from requests sent outside botocore's API calls.
* ``small_puts``: PutObject calls whose body is at most ``SMALL`` bytes, the
  files a deploy may send from a replayed request.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from botocore.endpoint import Endpoint

from s3local.operations import classify
from s3local.service import Service

# collectstupid replays PutObjects of files up to 1 MiB (replay.MAX_SIZE).
SMALL = 1024 * 1024
INVOCATION = "amz-sdk-invocation-id"

# One patch serves every active recorder, so recorders may nest or overlap
# (a fixture and a test each holding one) without stacking wrappers.
_lock = threading.Lock()
_active: list[BotocoreCalls] = []
_originals: dict[str, Any] = {}
# Set while a thread is inside botocore's request path: its sends are a call's attempts.
_calling = threading.local()


def _make_request(endpoint: Endpoint, *args: Any, **kwargs: Any) -> Any:
    outer = getattr(_calling, "depth", 0)
    _calling.depth = outer + 1
    try:
        return _originals["make_request"](endpoint, *args, **kwargs)
    finally:
        _calling.depth = outer


def _send(endpoint: Endpoint, request: Any) -> Any:
    attempt = _Attempt(request, by_botocore=bool(getattr(_calling, "depth", 0)))
    try:
        response = _originals["_send"](endpoint, request)
    except BaseException:
        for recorder in _snapshot():
            recorder._record(attempt, ok=False)
        raise
    ok = 200 <= response.status_code < 300
    for recorder in _snapshot():
        recorder._record(attempt, ok=ok)
    return response


class _Attempt:
    """What the wire shows of one request: its operation, its call, its size."""

    def __init__(self, request: Any, by_botocore: bool) -> None:
        parts = urlsplit(request.url)
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
        headers = request.headers
        self.operation = classify(request.method, target, "x-amz-copy-source" in headers)
        invocation = headers.get(INVOCATION) if by_botocore else None
        # A request without a call's id is a call of its own.
        self.call: object = _text(invocation) if invocation else object()
        self.by_botocore = by_botocore
        self.small = self.operation == "PutObject" and _size(request) <= SMALL


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _size(request: Any) -> int:
    for name in ("x-amz-decoded-content-length", "content-length"):
        value = request.headers.get(name)
        if value is not None:
            return int(_text(value))
    body = request.body
    return len(body) if isinstance(body, bytes | bytearray) else 0


def _snapshot() -> list[BotocoreCalls]:
    with _lock:
        return list(_active)


def _install() -> None:
    _originals["make_request"] = Endpoint.make_request
    _originals["_send"] = Endpoint._send
    Endpoint.make_request = _make_request  # type: ignore[method-assign]
    Endpoint._send = _send  # type: ignore[method-assign]


def _uninstall() -> None:
    # The originals stay known: a replay made while counting keeps our _send bound.
    Endpoint.make_request = _originals["make_request"]  # type: ignore[method-assign]
    Endpoint._send = _originals["_send"]  # type: ignore[method-assign]


class BotocoreCalls(Service):
    """While active, count every S3 request sent through a botocore endpoint.

    See the module's docstring for how ``operations``, ``failures``,
    ``attempts``, ``replayed`` and ``small_puts`` are derived. Counting covers
    every client in every thread of the process, including clients created
    before entry. Operations are named from path-style URLs.
    """

    def __init__(self) -> None:
        self._counts_lock = threading.Lock()
        self._operations: Counter[str] = Counter()
        self._replayed: Counter[str] = Counter()
        # Each call's operation and whether its last attempt was answered 2xx.
        self._calls: dict[object, tuple[str, bool]] = {}
        self._attempts = 0
        self._small_puts = 0

    @property
    def operations(self) -> Counter[str]:
        with self._counts_lock:
            return Counter(self._operations)

    @property
    def failures(self) -> Counter[str]:
        with self._counts_lock:
            return Counter(op for op, ok in self._calls.values() if not ok)

    @property
    def attempts(self) -> int:
        with self._counts_lock:
            return self._attempts

    @property
    def replayed(self) -> Counter[str]:
        with self._counts_lock:
            return Counter(self._replayed)

    @property
    def small_puts(self) -> int:
        with self._counts_lock:
            return self._small_puts

    def reset(self) -> None:
        with self._counts_lock:
            self._operations.clear()
            self._replayed.clear()
            self._calls.clear()
            self._attempts = 0
            self._small_puts = 0

    def _record(self, attempt: _Attempt, ok: bool) -> None:
        with self._counts_lock:
            self._attempts += 1
            if not attempt.by_botocore and not ok:
                return  # the first attempt of the call sent next through botocore
            if attempt.call not in self._calls:
                self._operations[attempt.operation] += 1
                self._small_puts += attempt.small
                if not attempt.by_botocore:
                    self._replayed[attempt.operation] += 1
            self._calls[attempt.call] = (attempt.operation, ok)

    def start(self) -> BotocoreCalls:
        with _lock:
            if self in _active:
                return self
            if not _active:
                _install()
            _active.append(self)
        return self

    def stop(self) -> None:
        with _lock:
            if self not in _active:
                return
            _active.remove(self)
            if not _active:
                _uninstall()
