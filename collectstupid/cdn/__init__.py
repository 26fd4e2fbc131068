"""Invalidate a CDN's cache after a deploy: the paths it changed, never its hashed copies.

``base`` is the interface a CDN implements (one class per CDN), ``cloudfront``
ships Amazon CloudFront, ``invalidate`` decides what a deploy asks to drop, sends it,
and keeps in the deploy manifest what a failed invalidation still owes. The
``COLLECTSTUPID['CDN']`` setting is read in conf.py. See docs/cdn.md.
"""

from __future__ import annotations

from collectstupid.cdn.base import CDN, InvalidationError
from collectstupid.conf import CdnSettings

__all__ = ["CDN", "CdnSettings", "InvalidationError", "for_settings"]


def for_settings(settings: CdnSettings) -> CDN:
    """The CDN the settings name (CloudFront, the one shipped)."""
    from collectstupid.cdn.cloudfront import CloudFront

    return CloudFront(settings.distribution_id)
