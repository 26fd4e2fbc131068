"""Credentials out of anything we print: user:password in URLs, signed query strings.

An ``endpoint_url`` may carry ``user:pass@`` (some proxies and S3-compatible
services take it), and library errors quote the URL they failed on, a
presigned one included. Every message the command prints passes through here.
"""

from __future__ import annotations

import re

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
