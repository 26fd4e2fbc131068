"""Invalidate a CDN's cache after a deploy: the paths it changed, never its hashed copies.

``base`` is the interface a CDN implements (one class per CDN), ``cloudfront``
ships Amazon CloudFront, ``settings`` reads ``COLLECTSTUPID['CDN']``, ``paths``
decides what a deploy asks to invalidate and ``owed`` keeps, in the deploy
manifest, what a failed invalidation still owes. See docs/cdn.md.
"""

from collectstupid.cdn.base import CDN, InvalidationError
from collectstupid.cdn.settings import CdnSettings

__all__ = ["CDN", "CdnSettings", "InvalidationError"]
