"""``--clear``: delete what the chosen profile selects under the storage's location before
uploading. The deploy manifest is deleted, or stripped of those files' entries, before any
of them goes, so it never vouches for a missing file. Also which uploads left open
--abort-uploads owns, by the same scope. See docs/django-compatibility.md.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, replace

from collectstupid.backends import Backend
from collectstupid.collect import safe_dest
from collectstupid.errors import ClearError, CollectError
from collectstupid.failures import verdict
from collectstupid.manifest import Contents, ManifestStore, Snapshot, rewrite
from collectstupid.outcomes import ClearPlan, ClearResult
from collectstupid.profiles import MATCH_EVERYTHING, Profile


def owns_everything(profile: Profile) -> bool:
    """Whether the profile selects every path, as ``full`` does."""
    return tuple(profile.include) == MATCH_EVERYTHING and not profile.exclude


def plan_clear(
    backend: Backend, profile: Profile, manifest_name: str, keep_manifest: bool = False
) -> ClearPlan:
    """List the storage once and pick what the profile selects.

    ``keep_manifest``: a smart run rewrites the manifest itself, so it is
    never deleted, only stripped of the deleted files.
    """
    listed = backend.listed_name(manifest_name)
    everything = owns_everything(profile)
    plan = ClearPlan(manifest_name, manifest_listed=listed, everything=everything)
    owned = everything and not keep_manifest
    try:
        for name in backend.list_names():
            if name.endswith("/"):
                plan.markers.append(name)
                continue
            try:
                safe_dest(name)
            except CollectError:
                plan.refused.append(name)
                continue
            if name == listed:
                plan.manifest_found = True
                if not owned:
                    continue
            if profile.select(name):
                plan.names.append(name)
    except Exception as exc:
        reason = backend.describe_error(exc)
        raise ClearError(
            f"--clear: the storage could not be listed ({reason}), so nothing was deleted "
            f"or uploaded. {verdict(reason)}"
        ) from exc
    # The manifest first: once files are gone it must not describe them.
    plan.names.sort(key=lambda name: name != listed)
    return plan


def owned_uploads(
    profile: Profile, uploads: list[tuple[str, str]], ours: Set[str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """--abort-uploads: the uploads left open (name, id) that this run owns, and the
    others as (name, why it is left). An upload is owned when the profile selects its
    name and this deploy ships it or the deploy manifest records it (``ours``): a
    location at the bucket's root is shared with whatever else writes there, such as a
    user's upload to ``media/`` still in progress."""
    owned: list[tuple[str, str]] = []
    left: list[tuple[str, str]] = []
    for name, upload_id in uploads:
        try:
            safe_dest(name)
        except CollectError:
            left.append((name, "its name could reach outside the storage's location"))
            continue
        if not profile.select(name):
            left.append((name, f"profile '{profile.name}' does not select it"))
        elif name not in ours:
            left.append((name, "no file of this deploy or of the deploy manifest has its name"))
        else:
            owned.append((name, upload_id))
    return owned, left


def without_cleared(base: Snapshot, plan: ClearPlan) -> Snapshot:
    """The manifest as a smart run would go on from it after ``plan``: without the
    entries of the files it deletes (all of them when it deletes the manifest)."""
    if plan.manifest_listed in plan.names:
        return Snapshot()
    doomed = set(plan.names)
    return replace(base, entries={p: e for p, e in base.entries.items() if p not in doomed})


def forget(store: ManifestStore, names: list[str], base: Snapshot | None = None) -> Snapshot:
    """Drop the manifest's entries for ``names`` before those files are deleted.

    ``base`` is the manifest as this run already read it, if it did. Returns
    the manifest as now written.
    """
    doomed = set(names)

    def without(contents: Contents) -> tuple[Contents, list[str]]:
        kept = {path: e for path, e in contents.entries.items() if path not in doomed}
        return replace(contents, entries=kept), []

    try:
        return rewrite(store, base or store.read(), without)[1]
    except Exception as exc:
        reason = str(exc)
        raise ClearError(
            f"--clear: the deploy manifest '{store.name}' could not be updated before "
            f"deleting ({reason}), so nothing was deleted or uploaded. {verdict(reason)}"
        ) from exc


@dataclass(frozen=True)
class Deleter:
    """How --clear deletes: through ``backend``, ``threads`` at once, telling ``on_deleted``
    each name with its error ('' once it is gone)."""

    backend: Backend
    threads: int
    on_deleted: Callable[[str, str], None] | None = None


def clear(
    deleter: Deleter,
    plan: ClearPlan,
    result: ClearResult,
    store: ManifestStore | None = None,
    base: Snapshot | None = None,
) -> None:
    """Carry out the plan: the manifest is updated (or deleted) before any other file goes.

    ``result`` is filled as deletes land, so a run a signal stops can still say them.
    ``store`` and ``base``: a smart run's manifest store and what it read at its start.
    """
    names, manifest_name = list(plan.names), plan.manifest_name
    backend, on_deleted = deleter.backend, deleter.on_deleted

    def delete(batch: list[str]) -> None:
        result.in_flight = batch
        failed = backend.delete_listed(batch, deleter.threads)
        result.in_flight = []
        for name in batch:
            error = failed.get(name, "")
            if error:
                result.failed[name] = error
            else:
                result.deleted.append(name)
            if on_deleted:
                on_deleted(name, error)

    if names and names[0] == plan.manifest_listed:
        delete([names.pop(0)])
        if result.failed:
            reason = result.failed[plan.manifest_listed]
            raise ClearError(
                f"--clear: the deploy manifest '{manifest_name}' could not be deleted "
                f"({reason}), so nothing else was deleted or uploaded. {verdict(reason)}"
            )
    elif plan.manifest_found and names:
        result.manifest = forget(store or backend.manifest_store(manifest_name), names, base)
    if names:
        delete(names)
