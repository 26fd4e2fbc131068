"""``COLLECTSTUPID['CDN']``: which CDN to invalidate after a deploy, under which URL path,
and from how many paths on one wildcard is sent instead. See docs/cdn.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings

from collectstupid.errors import SettingsError

KEYS = ("CLOUDFRONT_DISTRIBUTION_ID", "PATH_PREFIX", "WILDCARD_ABOVE")
# CloudFront bills each path after the first 1,000 of a month (a wildcard is one path)
# and holds at most 3,000 listed paths, or 15 wildcards, in progress at once. A list of
# 100 keeps ten deploys a month in the free paths, and keeps 30 deploys in flight
# under the limit; past it, one wildcard costs one path instead of a hundred or more,
# for objects fetched once more from the bucket. See docs/cdn.md.
WILDCARD_ABOVE = 100
# More listed paths than CloudFront holds in progress would be refused outright.
MAX_LISTED = 3000
_DISTRIBUTION_ID = re.compile(r"[A-Z0-9]{1,64}")


@dataclass(frozen=True)
class CdnSettings:
    distribution_id: str
    # The URL path static files are served under, '/' at both ends.
    prefix: str
    wildcard_above: int = WILDCARD_ABOVE

    def cdn(self) -> Any:
        """The CDN these settings name (CloudFront, the one shipped)."""
        from collectstupid.cdn.cloudfront import CloudFront

        return CloudFront(self.distribution_id)


def missing_client() -> str | None:
    """Why CloudFront cannot be reached from here (boto3 missing), None when it can."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        return (
            "COLLECTSTUPID['CDN'] names a CloudFront distribution, but boto3 is not "
            "installed. Install it: pip install 'collectstupid[s3]'."
        )
    return None


def cdn_settings(value: Any) -> CdnSettings | None:
    """The validated ``COLLECTSTUPID['CDN']``, None when it is not set."""
    if value is None:
        return None
    name = "COLLECTSTUPID['CDN']"
    if not isinstance(value, dict):
        raise SettingsError(
            f"{name} must be a dict such as {{'CLOUDFRONT_DISTRIBUTION_ID': 'E2EXAMPLE'}}, "
            f"not {type(value).__name__}."
        )
    unknown = sorted(map(str, set(value) - set(KEYS)))
    if unknown:
        raise SettingsError(
            f"{name} has unknown key(s): {', '.join(unknown)}. Known keys: {', '.join(KEYS)}."
        )
    distribution = value.get("CLOUDFRONT_DISTRIBUTION_ID")
    if not isinstance(distribution, str) or not _DISTRIBUTION_ID.fullmatch(distribution):
        raise SettingsError(
            f"{name}['CLOUDFRONT_DISTRIBUTION_ID'] must be a distribution id such as "
            f"'E2EXAMPLE' (capital letters and digits), not {distribution!r}."
        )
    return CdnSettings(
        distribution,
        path_prefix(value.get("PATH_PREFIX")),
        wildcard_above(value.get("WILDCARD_ABOVE", WILDCARD_ABOVE)),
    )


def path_prefix(value: Any) -> str:
    """PATH_PREFIX, else the path of STATIC_URL, with a '/' at both ends."""
    source = f"COLLECTSTUPID['CDN']['PATH_PREFIX'] ({value!r})"
    if value is None:
        static_url = getattr(django_settings, "STATIC_URL", None) or "/"
        value = urlsplit(str(static_url)).path
        source = f"The path of STATIC_URL ({static_url!r})"
    if not isinstance(value, str) or any(c in value for c in "*?#\\ \t\r\n\0"):
        raise SettingsError(
            f"{source} must be a URL path such as '/static/', without '*', '?', '#', "
            "spaces or backslashes. Set COLLECTSTUPID['CDN']['PATH_PREFIX']."
        )
    return "/" + value.strip("/") + "/" if value.strip("/") else "/"


def wildcard_above(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LISTED:
        raise SettingsError(
            "COLLECTSTUPID['CDN']['WILDCARD_ABOVE'] must be a whole number from 0 (always "
            f"one wildcard) to {MAX_LISTED} (CloudFront's limit of paths in progress), "
            f"not {value!r}. The default is {WILDCARD_ABOVE}."
        )
    return value
