"""After a complete deploy, ask the CDN to drop the paths it changed; in a dry run, say which.

What is invalidated: the unhashed files this run wrote (in smart mode only those
whose bytes or object parameters changed), the paths ``--prune`` and ``--clear``
deleted, and what an earlier run's failed invalidation owes (to whichever CDN it was
owed: the one configured now gets it), never a hashed copy. Nothing changed: no
request. In smart mode a failed or deferred invalidation is recorded in the deploy
manifest, so the next run sends it. See docs/cdn.md.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from collectstupid.cdn import CDN, InvalidationError, for_settings
from collectstupid.conf import CdnSettings, missing_client
from collectstupid.deployment import Deployment, Executed, Invalidating, WouldInvalidate
from collectstupid.errors import SettingsError
from collectstupid.manifest import Contents, ManifestStore, Snapshot, rewrite
from collectstupid.output import Output
from collectstupid.report import plural
from collectstupid.smart_values import Read

# RFC 1738's safe characters stay as they are: CloudFront matches the path as the
# browser sent it, so encoding any other character would miss the cached object.
SAFE = "/!$&'()+,;=:@-._"


def unhashed(names: Iterable[str], hashed: frozenset[str], copies: frozenset[str]) -> list[str]:
    """``names`` without hashed copies: a new hashed name is a new URL, never cached stale.

    A compressed sibling post-processing made of a hashed copy (``site.3f2a.css.gz``)
    is one too.
    """
    return sorted(
        {
            name
            for name in names
            if name not in hashed and not (name in copies and name.rsplit(".", 1)[0] in hashed)
        }
    )


def url_prefix(prefix: str) -> str:
    """PATH_PREFIX (or STATIC_URL's path) as CloudFront matches it: already a URL path,
    so its escapes stay, and what is left outside the safe set (``é``) is encoded."""
    return quote(prefix, safe=SAFE + "%")


def url_path(prefix: str, name: str) -> str:
    return url_prefix(prefix) + quote(name, safe=SAFE)


def requested(names: Iterable[str], prefix: str, wildcard_above: int) -> list[str]:
    """The paths of one invalidation request: each name, or ``prefix*`` past the threshold."""
    paths = sorted({url_path(prefix, name) for name in names})
    if len(paths) > wildcard_above:
        return [url_prefix(prefix) + "*"]
    return paths


def owe(store: ManifestStore, current: Snapshot, key: str, names: Iterable[str]) -> Snapshot:
    """Record ``names`` as owed to the CDN ``key``, and to no other CDN (what another
    was owed is in ``names``, see :func:`owed_names`); raises when the manifest cannot
    be written."""
    added = frozenset(names)

    def change(contents: Contents) -> tuple[Contents, list[str]]:
        owed = {k: left for k, v in contents.owed.items() if k != key and (left := v - added)}
        owed[key] = contents.owed.get(key, frozenset()) | added
        return replace(contents, owed=owed), []

    return rewrite(store, current, change)[1]


def forget_sent(store: ManifestStore, current: Snapshot, sent: Iterable[str]) -> Snapshot:
    """Forget what was owed, to any CDN, and is now sent to the configured one."""
    done = frozenset(sent)

    def change(contents: Contents) -> tuple[Contents, list[str]]:
        owed = {k: left for k, v in contents.owed.items() if (left := v - done)}
        return replace(contents, owed=owed), []

    return rewrite(store, current, change)[1]


def for_run(settings: CdnSettings | None, invalidate: bool, wait: bool) -> Invalidating | None:
    """On for every run once configured, unless ``--no-invalidate``; refused before any
    write when the CDN's client library is missing."""
    if settings is None or not invalidate:
        return None
    problem = missing_client()
    if problem:
        raise SettingsError(problem + " Or pass --no-invalidate.")
    return Invalidating(settings, wait)


# CloudFront takes minutes; asking every few seconds only spends requests.
POLL_SECONDS = 10.0


WAIT_LIMIT = 30 * 60.0


@dataclass
class Invalidated:
    """What the run asked of the CDN, and how that went."""

    cdn: str
    names: list[str]
    paths: list[str] = field(default_factory=list)
    id: str | None = None
    error: str | None = None
    # Recorded in the deploy manifest for the next run (a failure, or a deploy that
    # did not complete); None outside smart mode.
    owed: bool | None = None
    completed: bool | None = None

    @property
    def wildcard(self) -> bool:
        return len(self.paths) == 1 and self.paths[0].endswith("*")

    def report(self) -> dict[str, Any]:
        """The JSON report's ``invalidation`` section."""
        return {
            "cdn": self.cdn,
            "id": self.id,
            "paths": self.paths,
            "changed_paths": len(self.names),
            "wildcard": self.wildcard,
            "owed": self.owed,
            "completed": self.completed,
            "error": self.error,
        }

    def describe(self) -> str:
        """One line for the summary of a run (the CI job summary's)."""
        if self.error:
            return f"failed: {self.error}"
        if self.id is None:
            return f"{plural(len(self.names), 'path')} owed, sent by the next complete deploy"
        what = f"'{self.paths[0]}'" if self.wildcard else plural(len(self.paths), "path")
        return f"{what} on {self.cdn} ({self.id})"


def recorded_hashed(snapshot: Snapshot) -> frozenset[str]:
    """Every hashed copy the manifest's records of earlier deploys name, any project's."""
    records = [*snapshot.profiles.values()]
    records += [r for project in snapshot.projects.values() for r in project.values()]
    return frozenset().union(*(names for record in records for names in record.hashed))


def changed_names(deployment: Deployment, executed: Executed) -> list[str]:
    """The unhashed names this run wrote or deleted: what the CDN may hold stale."""
    staged, run = deployment.staged, deployment.smart
    hashed = staged.hashed if staged else frozenset()
    copies = staged.copies if staged else frozenset()
    if run is not None:
        # Old hashed copies --prune deletes are known from the deploys that shipped them.
        hashed = hashed | recorded_hashed(run.base)
    names = [outcome.source.dest for outcome in executed.result.uploaded]
    if executed.pruned:
        names += executed.pruned.deleted
    if executed.cleared:
        names += executed.cleared.deleted
    return unhashed(names, hashed, copies)


def _snapshot(deployment: Deployment, executed: Executed | None) -> Snapshot | None:
    """The manifest as the run last wrote it (as read, if it wrote none)."""
    run = deployment.smart
    if run is None:
        return None
    pruned = executed.pruned if executed else None
    if pruned is not None and pruned.current is not None:
        return pruned.current
    recorded = executed.smart if executed else None
    return recorded.current if recorded else run.base


def owed_names(snapshot: Snapshot | None) -> frozenset[str]:
    """What the deploy manifest records as owed, to any CDN: a CDN no longer configured
    (a mistyped distribution id, since fixed) cannot be sent anything, while the one
    configured now serves the same files and may hold them stale."""
    return frozenset().union(*snapshot.owed.values()) if snapshot else frozenset()


def say_owed_elsewhere(snapshot: Snapshot | None, cdn: CDN, out: Output) -> None:
    """One line when the manifest owes paths to a CDN other than the configured one."""
    others = {k: v for k, v in snapshot.owed.items() if k != cdn.key} if snapshot else {}
    if others:
        count = len(frozenset().union(*others.values()))
        keys = ", ".join(f"'{key}'" for key in sorted(others))
        out.say(
            f"What the deploy manifest owes to {keys} ({plural(count, 'path')}), which "
            f"this run does not invalidate, goes to {cdn.name} instead.",
            level=1,
        )


def after_deploy(deployment: Deployment, executed: Executed, out: Output) -> Invalidated | None:
    """Invalidate what the deploy changed (and what is owed); None when nothing needs it."""
    invalidating = deployment.invalidation
    if invalidating is None:
        return None
    settings = invalidating.settings
    cdn: CDN = for_settings(settings)
    snapshot = _snapshot(deployment, executed)
    names = sorted(set(changed_names(deployment, executed)) | owed_names(snapshot))
    if not names:
        return None
    say_owed_elsewhere(snapshot, cdn, out)
    done = Invalidated(cdn.name, names)
    result = executed.result
    if result.failed or result.cancelled or executed.interrupted:
        # Only a complete deploy is invalidated: the rest of it lands with the next run.
        done.owed = _owe(deployment.smart, snapshot, cdn.key, names, out)
        kept = "recorded in the deploy manifest" if done.owed else "left"
        out.say(
            f"Not invalidating {done.cdn} before the deploy is complete: "
            f"{plural(len(names), 'changed path')} {kept} for the next run.",
            level=1,
        )
        return done
    done.paths = requested(names, settings.prefix, settings.wildcard_above)
    for path in done.paths:
        out.say(f"Invalidating '{path}'", level=2)
    try:
        done.id = cdn.invalidate(done.paths, uuid.uuid4().hex)
    except InvalidationError as exc:
        done.owed = _owe(deployment.smart, snapshot, cdn.key, names, out)
        done.error = failure_line(done, str(exc))
        return done
    out.say(_sent_line(done, settings), level=1)
    _forget_sent(deployment.smart, snapshot, names, out)
    if invalidating.wait:
        done.completed = wait(cdn, done.id, out)
    return done


def _sent_line(done: Invalidated, settings: CdnSettings) -> str:
    if done.wildcard and len(done.names) > settings.wildcard_above:
        return (
            f"Invalidated '{done.paths[0]}' on {done.cdn} ({done.id}): "
            f"{len(done.names)} changed paths, more than WILDCARD_ABOVE "
            f"({settings.wildcard_above})."
        )
    return f"Invalidated {plural(len(done.paths), 'path')} on {done.cdn} ({done.id})."


def failure_line(done: Invalidated, error: str) -> str:
    later = (
        "They are recorded in the deploy manifest: the next run sends them."
        if done.owed
        else "Run the command again to send them."
    )
    return (
        f"The deploy landed, but invalidating {plural(len(done.paths), 'path')} on "
        f"{done.cdn} failed: {error.rstrip('.')}. {later}"
    )


def _owe(
    run: Read | None, snapshot: Snapshot | None, key: str, names: list[str], out: Output
) -> bool | None:
    if run is None or snapshot is None:
        return None
    try:
        owe(run.store, snapshot, key, names)
    except Exception as exc:
        out.error(
            f"The deploy manifest '{run.store.name}' could not record the "
            f"{plural(len(names), 'path')} owed to the CDN ({exc})."
        )
        return False
    return True


def _forget_sent(
    run: Read | None, snapshot: Snapshot | None, names: list[str], out: Output
) -> None:
    if run is None or snapshot is None or not snapshot.owed:
        return
    try:
        forget_sent(run.store, snapshot, names)
    except Exception as exc:
        # Harmless: what it still lists is invalidated once more by the next run.
        out.warn(
            f"The deploy manifest '{run.store.name}' could not forget the invalidation "
            f"just sent ({exc}); the next run sends it again."
        )


def wait(cdn: CDN, invalidation: str, out: Output) -> bool:
    """Poll until the invalidation completed, saying how long it has taken so far."""
    started = time.monotonic()
    while True:
        try:
            if cdn.completed(invalidation):
                out.say(f"Invalidation {invalidation} completed.", level=1)
                return True
        except InvalidationError as exc:
            out.warn(f"Could not follow invalidation {invalidation}: {exc}")
            return False
        waited = time.monotonic() - started
        if waited >= WAIT_LIMIT:
            out.warn(
                f"Invalidation {invalidation} is still in progress after {waited:.0f}s; "
                f"it completes on its own."
            )
            return False
        out.say(f"Invalidation {invalidation} in progress ({waited:.0f}s)...", level=1)
        time.sleep(POLL_SECONDS)


def would_invalidate(deployment: Deployment, changed: list[str] | None) -> WouldInvalidate | None:
    """What a deploy would invalidate, for a dry run to say; ``changed``: in smart mode, the
    paths it would write or prune."""
    invalidating = deployment.invalidation
    if invalidating is None:
        return None
    settings, run = invalidating.settings, deployment.smart
    cdn: CDN = for_settings(settings)
    if changed is not None:
        names = list(changed)
    else:
        names = [source.dest for source in deployment.plan.all_files]
    if deployment.clearing:
        names += deployment.clearing.names
    staged = deployment.staged
    hashed = staged.hashed if staged else frozenset()
    if run is not None:
        hashed = hashed | recorded_hashed(run.base)
    chosen = set(unhashed(names, hashed, staged.copies if staged else frozenset()))
    chosen |= owed_names(run.base if run else None)
    paths = requested(chosen, settings.prefix, settings.wildcard_above) if chosen else []
    return WouldInvalidate(
        cdn.name,
        tuple(url_path(settings.prefix, name) for name in sorted(chosen)),
        tuple(paths),
    )
