"""The bench's medians table: medians, spread, CPU per object and the ratio to s5cmd's pipeline."""

from __future__ import annotations

from bench import report
from bench.results import Row
from bench.stats import spread, summarize


def _row(
    tool: str, run: int, wall: float, cpu: float, local: float | None = None, status: str = "ok"
) -> Row:
    row = Row("fresh", tool, tool, status, 100, run=run, wall_s=wall, cpu_s=cpu)
    row.ops = {"PutObject": 100}
    if local is not None:
        row.local_collect_s = row.local_collect_cpu_s = local
    return row


def test_spread_skips_unknown_values():
    found = spread([3.0, None, 1.0, 2.0])
    assert (found.median, found.low, found.high, found.n) == (2.0, 1.0, 3.0, 3)
    assert spread([None]) is None
    assert found.text() == "2.00 (1.00-3.00)"


def test_medians_per_tool_and_ratio_to_the_s5cmd_pipeline():
    rows = [
        _row("s5cmd-cp", 1, 4.0, 0.1, local=1.0),
        _row("collectstupid", 1, 4.0, 0.4),
        _row("s5cmd-cp", 2, 6.0, 0.3, local=2.0),
        _row("collectstupid", 2, 9.0, 0.2),
        _row("s5cmd-cp", 3, 5.0, 0.2, local=1.0),
        _row("collectstupid", 3, 6.0, 0.3),
        _row("collectstupid", 4, 1.0, 0.1, status="failed"),
    ]
    by_tool = {s.tool: s for s in summarize(rows)}
    s5cmd, ours = by_tool["s5cmd-cp"], by_tool["collectstupid"]
    assert s5cmd.runs == 3 and ours.runs == 3  # the failed run is left out
    assert s5cmd.wall_s.median == 5.0
    # The copier's pipeline adds its local collectstatic, run by run: 5, 8, 6.
    assert (s5cmd.pipeline_wall_s.median, s5cmd.pipeline_wall_s.high) == (6.0, 8.0)
    assert ours.pipeline_wall_s.median == 6.0
    assert ours.vs_reference == 1.0
    assert s5cmd.cpu_ms_per_object.median == 2.0  # 0.2 s over 100 objects
    assert ours.cpu_ms_per_object.median == 3.0


def test_no_ratio_without_s5cmd_and_the_table_shows_it():
    rows = [_row("collectstupid", 1, 4.0, 0.4)]
    assert summarize(rows)[0].vs_reference is None
    table = report.summary_table(rows)
    assert "| collectstupid | 1 | 4.00 | 4.00 | 0.40 | 0.40 | 4.00 | 100 | - |" in table
