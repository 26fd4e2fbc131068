"""Medians (with min and max) of a tool's repeated runs, and its ratio to the reference copier.

Wall times on a shared machine move with whatever else runs; the median of
several runs, interleaved tool by tool, is what the tables compare. CPU seconds
move much less, which is why they sit next to every wall time.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.results import Row

# The pipeline every target is set against: a local collectstatic, then s5cmd cp.
REFERENCE = "s5cmd-cp"


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    n: int

    def text(self, digits: int = 2) -> str:
        if self.n == 1:
            return f"{self.median:.{digits}f}"
        return f"{self.median:.{digits}f} ({self.low:.{digits}f}-{self.high:.{digits}f})"


def spread(values: Sequence[float | None]) -> Spread | None:
    """Median, min and max of the values that are known; None if none is."""
    known = [v for v in values if v is not None]
    if not known:
        return None
    return Spread(statistics.median(known), min(known), max(known), len(known))


@dataclass(frozen=True)
class ToolSummary:
    tool: str
    runs: int
    wall_s: Spread | None
    pipeline_wall_s: Spread | None
    cpu_s: Spread | None
    pipeline_cpu_s: Spread | None
    cpu_ms_per_object: Spread | None
    written: int
    load_1m: Spread | None
    # Median pipeline wall over the reference's; None without a reference.
    vs_reference: float | None = None


def _of(rows: Sequence[Row], value: Callable[[Row], float | None]) -> Spread | None:
    return spread([value(r) for r in rows])


def summarize(rows: Sequence[Row]) -> list[ToolSummary]:
    """One summary per tool, in first-seen order, over its successful runs."""
    tools = list(dict.fromkeys(r.tool for r in rows))
    out = []
    for tool in tools:
        ok = [r for r in rows if r.tool == tool and r.status == "ok"]
        out.append(
            ToolSummary(
                tool=tool,
                runs=len(ok),
                wall_s=_of(ok, lambda r: r.wall_s),
                pipeline_wall_s=_of(ok, lambda r: r.pipeline_wall_s),
                cpu_s=_of(ok, lambda r: r.cpu_s),
                pipeline_cpu_s=_of(ok, lambda r: r.pipeline_cpu_s),
                cpu_ms_per_object=_of(ok, lambda r: r.cpu_ms_per_object),
                written=int(statistics.median([r.written for r in ok])) if ok else 0,
                load_1m=_of(ok, lambda r: r.load_1m),
            )
        )
    reference = next((s for s in out if s.tool == REFERENCE and s.pipeline_wall_s), None)
    if reference is None or reference.pipeline_wall_s is None:
        return out
    base = reference.pipeline_wall_s.median
    return [
        ToolSummary(**{**vars(s), "vs_reference": s.pipeline_wall_s.median / base})
        if s.pipeline_wall_s and base
        else s
        for s in out
    ]
