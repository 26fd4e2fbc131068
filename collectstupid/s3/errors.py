"""S3's error answers, read in one place."""

from __future__ import annotations

from collectstupid.output import describe_error, redact


def error_code(exc: BaseException) -> str:
    """The code S3 answered with (``NoSuchKey``, ``PreconditionFailed``...), or ''."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def describe(exc: BaseException) -> str:
    """``Code: Message`` as S3 gave them, else the exception's own words."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        text = f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip().rstrip(":")
        return redact(text)
    return describe_error(exc)
