"""What one ``--prune`` run may delete of its profile's record, decided inside the manifest's
conditional write, so against the very version the run writes over: nothing once another run
of the same profile recorded a deploy while this one ran (what that run shipped may be the
live deploy), and never more than a bounded share of what the previous deploy shipped (a
share that large most often means another project records under the same name).
See docs/lifecycle.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectstupid.manifest.deploys import Shipped, record_deploy, record_of
from collectstupid.manifest.entries import Contents, Record


@dataclass(frozen=True)
class Guard:
    """Bounds on one ``--prune`` run's deletes.

    ``max_share``: the percentage of the paths the previous deploy shipped it
    may delete. ``found``: the profile's record as the run found it when it
    started (None when it had none); any other record means another run of
    the profile recorded a deploy since.
    """

    max_share: int
    found: Record | None


@dataclass(frozen=True)
class Decision:
    """The manifest to write and the paths to delete after it, or why none are.

    ``refused``: why the run stops with an error, the deploy not recorded
    for the profile, so nothing is doomed. ``held``: this deploy is recorded
    and its stale paths kept for the next ``--prune`` run; a warning.
    """

    contents: Contents
    doomed: list[str]
    refused: str | None = None
    held: str | None = None


def decide(contents: Contents, shipped: Shipped, manifest_name: str, guard: Guard) -> Decision:
    """Record ``shipped`` in ``contents`` and say what to delete, within ``guard``'s bounds."""
    own = record_of(contents, shipped.project, shipped.profile)
    if own != guard.found:
        after, _ = record_deploy(contents, shipped, False, manifest_name)
        return Decision(after, [], held=held_message(shipped))
    after, doomed = record_deploy(contents, shipped, True, manifest_name)
    previous = own.ships if own else frozenset()
    gone = previous.intersection(doomed)
    if gone and len(gone) * 100 > guard.max_share * len(previous):
        return Decision(contents, [], refused=refused_message(shipped, len(gone), previous, guard))
    return Decision(after, doomed)


def held_message(shipped: Shipped) -> str:
    return (
        f"Nothing was pruned: another deploy of profile '{shipped.profile}' was recorded "
        "while this one ran, and what it shipped may be the live deploy. This deploy is "
        "recorded; the next --prune run deletes what is stale."
    )


def refused_message(shipped: Shipped, gone: int, previous: frozenset[str], guard: Guard) -> str:
    """Why the guard stops the run, and how to go on; the caller says what was done."""
    share = gone * 100 // len(previous)
    project = f" of project '{shipped.project}'" if shipped.project else ""
    return (
        f"this deploy would delete {gone} of the {len(previous)} files the previous deploy "
        f"of profile '{shipped.profile}'{project} shipped ({share}%), more than the "
        f"{guard.max_share}% COLLECTSTUPID['PRUNE_MAX_SHARE'] allows. The likely cause is "
        "another project with the same name deploying to this location: give each project "
        "its own COLLECTSTUPID['PROJECT']. If this deploy does replace that many files, run "
        "it again with --prune-max-share 100."
    )
