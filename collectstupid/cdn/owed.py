"""What a failed invalidation owes, kept in the deploy manifest (``invalidations_owed``)
until a later run's invalidation of those paths succeeded. See docs/cdn.md."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from collectstupid.manifest import Contents, ManifestStore, Snapshot, rewrite


def owe(store: ManifestStore, current: Snapshot, key: str, names: Iterable[str]) -> Snapshot:
    """Record ``names`` as owed to the CDN ``key``; raises when the manifest cannot be written."""
    added = frozenset(names)

    def change(contents: Contents) -> tuple[Contents, list[str]]:
        owed = {**contents.owed, key: contents.owed.get(key, frozenset()) | added}
        return replace(contents, owed=owed), []

    return rewrite(store, current, change)[1]


def settle(store: ManifestStore, current: Snapshot, key: str, sent: Iterable[str]) -> Snapshot:
    """Forget what was owed to ``key`` and is now sent (one write, none if nothing was owed)."""
    done = frozenset(sent)

    def change(contents: Contents) -> tuple[Contents, list[str]]:
        left = contents.owed.get(key, frozenset()) - done
        owed = {k: v for k, v in contents.owed.items() if k != key}
        if left:
            owed[key] = left
        return replace(contents, owed=owed), []

    return rewrite(store, current, change)[1]
