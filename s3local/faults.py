"""What faults the proxy injects, and the S3 error responses it answers with."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from xml.sax.saxutils import escape

ERROR = "error"
RESET = "reset"
STALL = "stall"
DENY = "deny"

WRITE_METHODS = frozenset({"PUT", "POST"})

# The codes S3 uses with these statuses; clients retry on 500 and 503 SlowDown.
_CODES = {
    400: ("BadRequest", "Bad Request"),
    403: ("AccessDenied", "Access Denied"),
    404: ("NoSuchKey", "The specified key does not exist."),
    409: ("OperationAborted", "A conflicting conditional operation is in progress."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    502: ("BadGateway", "Bad Gateway"),
    503: ("SlowDown", "Please reduce your request rate."),
    504: ("GatewayTimeout", "Gateway Timeout"),
}
_VALID_ERRORS = frozenset(s.value for s in HTTPStatus if s.value >= 400)
_request_ids = itertools.count(1)


def _frozen(methods: Iterable[str] | None, upper: bool) -> frozenset[str] | None:
    if methods is None:
        return None
    if isinstance(methods, str):
        methods = [methods]
    return frozenset(m.upper() if upper else m for m in methods)


@dataclass(frozen=True)
class FaultPlan:
    """Faults to inject, chosen per request with a seedable random draw.

    The three ratios share one draw, so they must add up to at most 1:
    ``error_ratio`` answers with an S3 error (a status from ``error_statuses``),
    ``reset_ratio`` resets the client connection (mid-body when the request has
    one, otherwise after the server acted but before the response reaches the
    client), ``stall_ratio`` holds the response ``stall_seconds`` (past a
    client's read timeout; the server has still acted). ``only_methods`` and
    ``only_operations`` restrict these random faults; ``max_faults`` caps
    them, so ``error_ratio=1, max_faults=1`` fails exactly the first request.

    ``deny_prefix`` is deterministic and independent: every PUT or POST on an
    object key starting with it gets 403 AccessDenied without reaching the
    server.

    ``only_target`` restricts the random faults to requests whose target
    (path and query, URL-decoded) contains it: the manifest's name, say, so
    that its writes fail and the files' writes do not.
    """

    error_ratio: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    reset_ratio: float = 0.0
    stall_ratio: float = 0.0
    stall_seconds: float = 5.0
    deny_prefix: str | None = None
    only_methods: Collection[str] | None = None
    only_operations: Collection[str] | None = None
    only_target: str | None = None
    max_faults: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        ratios = (self.error_ratio, self.reset_ratio, self.stall_ratio)
        if any(not 0.0 <= r <= 1.0 for r in ratios) or sum(ratios) > 1.0 + 1e-9:
            raise ValueError("fault ratios must each be in [0, 1] and add up to at most 1")
        if self.error_ratio and not self.error_statuses:
            raise ValueError("error_ratio needs at least one status in error_statuses")
        if any(status not in _VALID_ERRORS for status in self.error_statuses):
            raise ValueError(f"error_statuses must be HTTP error statuses: {self.error_statuses}")
        object.__setattr__(self, "only_methods", _frozen(self.only_methods, upper=True))
        object.__setattr__(self, "only_operations", _frozen(self.only_operations, upper=False))
        object.__setattr__(self, "error_statuses", tuple(self.error_statuses))


@dataclass(frozen=True)
class Decision:
    """One request's fault: its kind, the status to answer, or how long to stall."""

    kind: str
    status: int = 0
    seconds: float = 0.0


class FaultPicker:
    """Applies one FaultPlan to a stream of requests; safe to call from any thread."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._injected = 0
        self._lock = threading.Lock()

    def decide(self, method: str, key: str, operation: str, target: str = "") -> Decision | None:
        plan = self.plan
        denied = plan.deny_prefix is not None and key.startswith(plan.deny_prefix)
        if denied and key and method in WRITE_METHODS:
            return Decision(DENY, 403)
        if plan.only_methods is not None and method not in plan.only_methods:
            return None
        if plan.only_operations is not None and operation not in plan.only_operations:
            return None
        if plan.only_target is not None and plan.only_target not in target:
            return None
        with self._lock:
            if plan.max_faults is not None and self._injected >= plan.max_faults:
                return None
            draw = self._rng.random()
            decision = None
            if draw < plan.error_ratio:
                decision = Decision(ERROR, self._rng.choice(plan.error_statuses))
            elif draw < plan.error_ratio + plan.reset_ratio:
                decision = Decision(RESET)
            elif draw < plan.error_ratio + plan.reset_ratio + plan.stall_ratio:
                decision = Decision(STALL, seconds=plan.stall_seconds)
            if decision is not None:
                self._injected += 1
            return decision


def error_response(status: int, resource: str, head_request: bool, keep_alive: bool) -> bytes:
    """A complete S3-style XML error response, as the server itself would send it."""
    code, message = _CODES.get(status, ("InternalError", HTTPStatus(status).phrase))
    request_id = f"S3LOCAL{next(_request_ids):08d}"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
        f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId></Error>"
    ).encode()
    headers = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: application/xml",
        # HEAD responses carry no body, and botocore reads the code from the status.
        f"Content-Length: {0 if head_request else len(body)}",
        f"x-amz-request-id: {request_id}",
        f"Date: {formatdate(usegmt=True)}",
        "Server: s3local-proxy",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
    ]
    return "\r\n".join(headers).encode() + b"\r\n\r\n" + (b"" if head_request else body)


CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
