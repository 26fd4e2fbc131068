"""What a CDN must offer to be invalidated after a deploy: one request for a list of
URL paths, and a way to ask whether it completed. Another CDN (Cloudflare's purge
API, Fastly) is one more class with these three members, its requests made through
interruptible.call so that a signal cuts their wait short. See docs/cdn.md."""

from __future__ import annotations

from typing import Protocol

from collectstupid.errors import CollectStupidError


class InvalidationError(CollectStupidError):
    """The CDN refused or never answered an invalidation; the message says why."""


class CDN(Protocol):
    # Names the cache in messages ("CloudFront distribution E2EXAMPLE") and, as
    # ``key``, in the deploy manifest's record of what is owed.
    name: str
    key: str

    def invalidate(self, paths: list[str], reference: str) -> str:
        """Ask the CDN to drop ``paths`` (URL paths, a trailing ``*`` a wildcard); return
        the invalidation's id. ``reference`` makes a retried request the same one."""
        ...

    def completed(self, invalidation: str) -> bool:
        """Whether the invalidation ``invalidation`` has reached every edge location."""
        ...
