"""--list-profiles: each profile, and what it would select among the files found."""

from __future__ import annotations

from collections.abc import Iterator

from collectstupid import report
from collectstupid.collect import SourceFile
from collectstupid.plan import make_plan
from collectstupid.profiles import Catalog


def profile_entries(catalog: Catalog, files: list[SourceFile]) -> Iterator[str]:
    """One entry per profile, two lines each: its name, origin and selection, then its
    description (or why it cannot be used)."""
    for name in catalog.names:
        if name in catalog.problems:
            yield f"{name}  [cannot be used]\n    {catalog.problems[name]}"
            continue
        profile = catalog.profiles[name]
        plan = make_plan(files, profile)
        yield (
            f"{name}  [{profile.origin}]  {len(plan.files)} files, "
            f"{report.format_size(plan.bytes)}\n    {profile.description}"
        )
