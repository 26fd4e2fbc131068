"""Paths another profile shipped with other object parameters: this run's replace theirs.

Two profiles that ship one path with different object parameters (say
``cdn`` marks hashed copies ``immutable`` and ``full`` does not) overwrite
each other's objects on every deploy; the last deploy's parameters win. Smart
mode sees it: the bytes are those recorded, the parameters are not. See
docs/profiles.md.
"""

from __future__ import annotations

from collections import Counter

from collectstupid.manifest import records, whose
from collectstupid.report import plural
from collectstupid.smart_values import PARAMETERS, Decided, Read


def warning(run: Read, decided: Decided, profile: str) -> str | None:
    """One warning naming how many such paths each other profile last shipped, or None."""
    project = run.shipped.project if run.shipped else ""
    others = sorted(
        (key, record) for key, record in records(run.base.contents) if key != (project, profile)
    )
    owners: Counter[tuple[str, str]] = Counter()
    for change in decided.changes.values():
        if change.reason != PARAMETERS:
            continue
        path = change.source.dest
        owner = next((key for key, record in others if path in record.ships), None)
        if owner is not None:
            owners[owner] += 1
    if not owners:
        return None
    named = ", ".join(f"{plural(n, 'path')} of {whose(key, project)}" for key, n in owners.items())
    return (
        f"Profile '{profile}' ships {named} with other object parameters: this deploy "
        "sends them again with its own, which replace the other profile's until it "
        "deploys again (the last deploy wins). Give both profiles the same rules for "
        "these paths to stop them overwriting each other."
    )
