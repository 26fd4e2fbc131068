"""Whether this run invalidates: the settings, unless ``--no-invalidate``, and whether it
waits for completion (``--wait-invalidation``). See docs/cdn.md."""

from __future__ import annotations

from dataclasses import dataclass

from collectstupid.cdn.settings import CdnSettings


@dataclass(frozen=True)
class Invalidating:
    settings: CdnSettings
    wait: bool = False


def for_run(settings: CdnSettings | None, invalidate: bool, wait: bool) -> Invalidating | None:
    """On for every run once configured, unless ``--no-invalidate``."""
    return Invalidating(settings, wait) if settings is not None and invalidate else None
