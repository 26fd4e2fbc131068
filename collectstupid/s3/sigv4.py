"""AWS Signature Version 4's last step, for a request whose signed headers botocore already
chose (replay.py): the canonical request, the string to sign and the signature, the signing
key derived once per day. See docs/cpu.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from botocore.credentials import ReadOnlyCredentials

ALGORITHM = "AWS4-HMAC-SHA256"

_AUTHORIZATION = re.compile(
    ALGORITHM + r" Credential=(?P<access_key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)"
    r"/(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;_.-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class Scope:
    """What a SigV4 Authorization header says besides its signature."""

    access_key: str
    region: str
    service: str
    signed_headers: tuple[str, ...]


def read_authorization(value: str) -> Scope | None:
    """The scope of a SigV4 Authorization header; None for any other kind."""
    match = _AUTHORIZATION.fullmatch(value)
    if match is None:
        return None
    return Scope(
        access_key=match["access_key"],
        region=match["region"],
        service=match["service"],
        signed_headers=tuple(match["signed"].split(";")),
    )


@lru_cache(maxsize=16)
def signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def authorization(
    scope: Scope, credentials: ReadOnlyCredentials, method: str, path: str, values: dict[str, str]
) -> str:
    """The Authorization header for a request without a query string.

    ``values`` maps each of ``scope.signed_headers`` to the header's value as sent, and
    holds the request's ``x-amz-date`` and ``x-amz-content-sha256`` (which S3 signs
    as the payload's hash) whether or not they are signed.
    """
    names = scope.signed_headers
    canonical_headers = "".join(f"{name}:{' '.join(values[name].split())}\n" for name in names)
    signed = ";".join(names)
    # The path as sent: S3 signs it without normalising it, unlike other services.
    canonical = (
        f"{method}\n{path}\n\n{canonical_headers}\n{signed}\n{values['x-amz-content-sha256']}"
    )
    timestamp = values["x-amz-date"]
    day = timestamp[:8]
    credential_scope = f"{day}/{scope.region}/{scope.service}/aws4_request"
    string_to_sign = (
        f"{ALGORITHM}\n{timestamp}\n{credential_scope}\n"
        f"{hashlib.sha256(canonical.encode()).hexdigest()}"
    )
    key = signing_key(credentials.secret_key, day, scope.region, scope.service)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={credentials.access_key}/{credential_scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
