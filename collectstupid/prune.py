"""``--prune``: after a complete deploy, delete what its profile no longer ships.

What to delete comes from the deploy manifest alone, never from a listing:
the stale paths the manifest write that recorded this deploy stopped
vouching for (see manifest/deploys.py). Deleted paths are then forgotten in
one more conditional write; a path whose delete failed stays recorded, so
the next ``--prune`` run tries it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from collectstupid.backends import Backend
from collectstupid.manifest import (
    Contents,
    Record,
    Shipped,
    Snapshot,
    forget_deleted,
    record_of,
    records,
    rewrite,
    whose,
)
from collectstupid.smart_values import Read, Recorded


@dataclass
class Pruned:
    """What a prune did: the paths deleted, the reason each failed one was not."""

    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    # The manifest could not forget the deleted paths (harmless: deleted again next time).
    manifest_error: str | None = None
    # Paths the profile shipped before and no longer ships, kept, with the reason.
    kept: dict[str, str] = field(default_factory=dict)
    # Why nothing was deleted: the guard stopped the run (an error), or another run of
    # the profile recorded a deploy meanwhile (a warning). See manifest/guard.py.
    refused: str | None = None
    held: str | None = None
    # The deploy manifest as the prune left it, when it wrote it.
    current: Snapshot | None = None


def prune(
    run: Read,
    recorded: Recorded,
    backend: Backend,
    threads: int,
    on_deleted: Callable[[str], None] | None = None,
) -> Pruned:
    """Delete the paths the final manifest write doomed, then forget those that are gone."""
    if run.shipped is None:
        return Pruned()
    reasons = kept(run.base.contents, run.shipped)
    if recorded.refused:
        refused = (
            f"--prune stopped before deleting anything: {recorded.refused} Every file landed; "
            "this deploy is not recorded for the profile."
        )
        return Pruned(kept=reasons, refused=refused)
    if not recorded.doomed:
        return Pruned(kept=reasons, held=recorded.held, refused=lost_message(recorded.lost))
    # Never the manifest itself, however the backend stores its name.
    manifest = backend.listed_name(run.store.name)
    doomed = [path for path in recorded.doomed if backend.listed_name(path) != manifest]
    failed = backend.delete_many(doomed, threads)
    deleted = [path for path in doomed if path not in failed]
    if on_deleted:
        for path in deleted:
            on_deleted(path)
    pruned = Pruned(deleted, dict(sorted(failed.items())), kept=reasons)
    if deleted:
        profile, project = run.shipped.profile, run.shipped.project
        try:
            _, pruned.current = rewrite(
                run.store,
                recorded.current,
                lambda contents: (forget_deleted(contents, profile, deleted, project), []),
            )
        except Exception as exc:
            pruned.manifest_error = (
                f"The deploy manifest '{run.store.name}' could not record what was pruned "
                f"({exc}). It still lists those files as to delete, so the next --prune run "
                "deletes them again, which is harmless."
            )
    return pruned


def lost_message(lost: Sequence[str], shown: int = 3) -> str | None:
    """The error for files this deploy ships that a concurrent run's --prune deleted."""
    if not lost:
        return None
    names = ", ".join(f"'{path}'" for path in lost[:shown])
    more = f" and {len(lost) - shown} more" if len(lost) > shown else ""
    count = len(lost)
    return (
        f"{count} file{'' if count == 1 else 's'} this deploy ships without changing "
        f"{'it' if count == 1 else 'them'} ({names}{more}) "
        f"{'was' if count == 1 else 'were'} deleted by another deploy to this location "
        "(its --prune or --clear) while this one ran. The deploy manifest no longer vouches "
        f"for {'it' if count == 1 else 'them'}: run this deploy again to upload what is "
        "missing."
    )


def kept(contents: Contents, shipped: Shipped) -> dict[str, str]:
    """Why each path this profile shipped before and no longer ships is not pruned.

    A hashed copy one of its last deploys shipped stays for ``keep`` deploys;
    a path another profile ships, or keeps as a hashed copy, is that
    profile's, never this one's to delete.
    """
    own = (shipped.project, shipped.profile)
    before = record_of(contents, *own) or Record()
    history = before.hashed
    if not history or history[0] != shipped.hashed:
        history = (shipped.hashed, *history)
    candidates = set(before.stale).union(before.ships, *history) - shipped.paths
    why: dict[str, str] = {}
    for path in sorted(candidates):
        age = next((n for n, copies in enumerate(history[: shipped.keep]) if path in copies), None)
        if age is not None:
            why[path] = (
                f"a hashed copy of profile '{shipped.profile}''s deploy {age} before this "
                f"one, kept for {shipped.keep} deploys"
            )
            continue
        others = sorted((key, r) for key, r in records(contents) if key != own)
        shipper = next((key for key, r in others if path in r.ships), None)
        if shipper is not None:
            why[path] = f"{whose(shipper, shipped.project)} still ships it"
            continue
        keeper = next((key for key, r in others if any(path in c for c in r.hashed)), None)
        if keeper is not None:
            why[path] = f"{whose(keeper, shipped.project)} keeps it as a hashed copy"
    return why
