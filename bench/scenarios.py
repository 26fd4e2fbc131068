"""The deploy situations measured, in the order they run.

Each scenario after `fresh` runs every tool a second (or third) time on the same
bucket, after changing the source tree the way a CI pipeline would see it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from bench.fixture import Fixture, change_some, touch_all

CHANGED_SHARE = 0.01


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    # Needs the bucket to hold a previous deploy by the same tool.
    needs_previous_deploy: bool
    # Changes the source tree before the tools run; returns a one-line summary.
    mutate: Callable[[Fixture, int], str]


def _nothing(fixture: Fixture, seed: int) -> str:
    return "empty buckets"


def _touch(fixture: Fixture, seed: int) -> str:
    count = touch_all(fixture)
    return f"mtime of all {count} source files set to now, contents unchanged"


def _change(fixture: Fixture, seed: int) -> str:
    changed = change_some(fixture, CHANGED_SHARE, seed)
    return f"{len(changed)} files ({CHANGED_SHARE:.0%}) rewritten with new content"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("fresh", "first deploy to an empty bucket", False, _nothing),
    Scenario(
        "rerun-touched",
        "deploy again, nothing changed but every mtime is new (a fresh CI checkout)",
        True,
        _touch,
    ),
    Scenario(
        "changed-1pct",
        "deploy again after 1% of the files got new content and mtime",
        True,
        _change,
    ),
)
SCENARIOS_BY_NAME = {s.name: s for s in SCENARIOS}
