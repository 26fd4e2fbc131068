"""Credentials out of anything we print: user:password in URLs, signed query strings;
and a failure's one-line reason, credentials out.

An ``endpoint_url`` may carry ``user:pass@`` (some proxies and S3-compatible
services take it), and library errors quote the URL they failed on, a
presigned one included. Every message the command prints passes through here.
"""

from __future__ import annotations

import re

from collectstupid.errors import CollectStupidError

HIDDEN = "***"

# scheme://user[:password]@ : everything between the scheme and the last @ of
# the authority (a password may itself contain @ once percent-decoded).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#'\"<>]*@")
# Query parameters that sign or authorise a request (SigV4, SigV2, SAS, tokens).
_SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|signature"
    r"|awsaccesskeyid|sig|token|access_token|x-goog-signature|x-goog-credential)=)[^&\s'\"<>#]*"
)


def redact(text: str) -> str:
    """``text`` with credentials in URLs replaced by ``***``."""
    text = _USERINFO.sub(rf"\1{HIDDEN}@", text)
    return _SECRET_PARAMS.sub(rf"\1{HIDDEN}", text)


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a failed request or write, without credentials."""
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, CollectStupidError) and type(exc).__name__ not in text:
        # Our own errors are written for people; a library's needs its type to be read.
        text = f"{type(exc).__name__}: {text}"
    return redact(text)
