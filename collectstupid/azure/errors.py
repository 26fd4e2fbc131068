"""The Azure SDK's errors, in one line each."""

from __future__ import annotations

from collectstupid.output import describe_error


def describe(exc: BaseException) -> str:
    """``ErrorCode: first line of the message``, else the exception's first line.

    The SDK's own text adds a request id, a time and the XML body on further
    lines: the same failure on twenty files would read as twenty reasons.
    """
    code = getattr(exc, "error_code", None)
    # The SDK answers with a StorageErrorCode member: its value is the service's own code.
    code = getattr(code, "value", code)
    text = str(getattr(exc, "message", None) or exc).strip()
    first = text.splitlines()[0] if text else ""
    if code:
        return f"{code}: {first}" if first else str(code)
    return f"{type(exc).__name__}: {first}" if first else describe_error(exc)
