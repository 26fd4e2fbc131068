"""Count the API calls and HTTP attempts botocore makes, process-wide.

A request a program builds itself and sends through a client's endpoint,
outside any API call, is counted too: as an attempt, and, when it succeeds,
as a call of the operation its method, path-style URL and headers name. One
that fails counts as an attempt only: it stands for the first attempt of the
call the program makes next to send the same thing through botocore.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from botocore.client import BaseClient
from botocore.endpoint import Endpoint

from s3local.operations import classify
from s3local.service import Service

# One patch serves every active recorder, so recorders may nest or overlap
# (a fixture and a test each holding one) without stacking wrappers.
_lock = threading.Lock()
_active: list[BotocoreCalls] = []
_originals: dict[str, Any] = {}
# Set while a thread is inside an API call: its sends are that call's attempts.
_calling = threading.local()


def _make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
    for recorder in _snapshot():
        recorder._record_operation(operation_name)
    outer = getattr(_calling, "depth", 0)
    _calling.depth = outer + 1
    try:
        return _originals["_make_api_call"](client, operation_name, api_params)
    except Exception:
        for recorder in _snapshot():
            recorder._record_failure(operation_name)
        raise
    finally:
        _calling.depth = outer


def _send(endpoint: Endpoint, request: Any) -> Any:
    # Endpoint._send runs once per HTTP attempt, retries included.
    for recorder in _snapshot():
        recorder._record_attempt()
    response = _originals["_send"](endpoint, request)
    if not getattr(_calling, "depth", 0) and 200 <= response.status_code < 300:
        for recorder in _snapshot():
            recorder._record_operation(_operation(request))
    return response


def _operation(request: Any) -> str:
    parts = urlsplit(request.url)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    return classify(request.method, target, "x-amz-copy-source" in request.headers)


def _snapshot() -> list[BotocoreCalls]:
    with _lock:
        return list(_active)


def _install() -> None:
    _originals["_make_api_call"] = BaseClient._make_api_call
    _originals["_send"] = Endpoint._send
    BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
    Endpoint._send = _send  # type: ignore[method-assign]


def _uninstall() -> None:
    BaseClient._make_api_call = _originals.pop("_make_api_call")  # type: ignore[method-assign]
    Endpoint._send = _originals.pop("_send")  # type: ignore[method-assign]


class BotocoreCalls(Service):
    """While active, count every botocore API call by name and every HTTP attempt.

    ``operations`` counts logical calls (``PutObject`` once however many
    retries), ``attempts`` counts requests put on the wire, and ``failures``
    counts calls that raised, by operation name. Counting covers every client
    in every thread of the process, including clients created before entry.
    """

    def __init__(self) -> None:
        self._counts_lock = threading.Lock()
        self._operations: Counter[str] = Counter()
        self._failures: Counter[str] = Counter()
        self._attempts = 0

    @property
    def operations(self) -> Counter[str]:
        with self._counts_lock:
            return Counter(self._operations)

    @property
    def failures(self) -> Counter[str]:
        with self._counts_lock:
            return Counter(self._failures)

    @property
    def attempts(self) -> int:
        with self._counts_lock:
            return self._attempts

    def reset(self) -> None:
        with self._counts_lock:
            self._operations.clear()
            self._failures.clear()
            self._attempts = 0

    def _record_operation(self, name: str) -> None:
        with self._counts_lock:
            self._operations[name] += 1

    def _record_failure(self, name: str) -> None:
        with self._counts_lock:
            self._failures[name] += 1

    def _record_attempt(self) -> None:
        with self._counts_lock:
            self._attempts += 1

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
