"""Whether this run invalidates: the settings, unless ``--no-invalidate``, and whether it
waits for completion (``--wait-invalidation``). See docs/cdn.md."""

from __future__ import annotations

from dataclasses import dataclass

from collectstupid.cdn.settings import CdnSettings, missing_client
from collectstupid.errors import SettingsError


@dataclass(frozen=True)
class Invalidating:
    settings: CdnSettings
    wait: bool = False


def for_run(settings: CdnSettings | None, invalidate: bool, wait: bool) -> Invalidating | None:
    """On for every run once configured, unless ``--no-invalidate``; refused before any
    write when the CDN's client library is missing."""
    if settings is None or not invalidate:
        return None
    problem = missing_client()
    if problem:
        raise SettingsError(problem + " Or pass --no-invalidate.")
    return Invalidating(settings, wait)
