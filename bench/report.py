"""Tables for the terminal and for the README, and the JSON dump of a bench run."""

import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.results import OP_GROUPS, Row
from bench.stats import REFERENCE, ToolSummary, summarize

HEADERS = (
    "tool",
    "run",
    "wall s",
    "CPU s",
    "CPU ms/obj",
    "server CPU s",
    "proxy CPU s",
    "local collect s",
    "local collect CPU s",
    "S3 calls",
    *OP_GROUPS,
    "other",
    "written",
    "calls/written",
    "peak RSS MB",
    "manifest MB",
    "load 1m",
    "speed-up",
)
BASELINE = "collectstatic"
SUMMARY_HEADERS = (
    "tool",
    "runs",
    "wall s",
    "+ local collect wall s",
    "CPU s",
    "+ local collect CPU s",
    "CPU ms/obj",
    "written",
    f"wall vs {REFERENCE} pipeline",
    "load 1m",
)


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _cells(row: Row, baseline: Row | None) -> list[str]:
    if row.status != "ok":
        return [row.tool, str(row.run), row.status, *["-"] * (len(HEADERS) - 3)]
    speedup = None
    if baseline is not None and baseline.status == "ok" and row.wall_s and baseline.wall_s:
        speedup = baseline.wall_s / row.wall_s
    return [
        row.tool,
        str(row.run),
        _num(row.wall_s, 2),
        _num(row.cpu_s, 2),
        _num(row.cpu_ms_per_object, 2),
        _num(row.server_cpu_s, 2),
        _num(row.proxy_cpu_s, 2),
        _num(row.local_collect_s, 2),
        _num(row.local_collect_cpu_s, 2),
        str(row.total_calls),
        *[str(row.group(name)) for name in OP_GROUPS],
        str(row.group("other")),
        str(row.written),
        _num(row.calls_per_written, 2),
        _num(row.peak_rss_mb, 0),
        _num(None if row.manifest_bytes is None else row.manifest_bytes / 1e6, 2),
        _num(row.load_1m, 2),
        "-" if speedup is None else f"{speedup:.1f}x",
    ]


def _baseline(rows: Sequence[Row]) -> Row | None:
    return next((r for r in rows if r.tool == BASELINE), None)


def _spread(value: Any, digits: int = 2) -> str:
    return "-" if value is None else value.text(digits)


def _summary_cells(s: ToolSummary) -> list[str]:
    return [
        s.tool,
        str(s.runs),
        _spread(s.wall_s),
        _spread(s.pipeline_wall_s),
        _spread(s.cpu_s),
        _spread(s.pipeline_cpu_s),
        _spread(s.cpu_ms_per_object),
        str(s.written),
        "-" if s.vs_reference is None else f"{s.vs_reference:.2f}x",
        _spread(s.load_1m),
    ]


def summary_cells(rows: Sequence[Row]) -> list[list[str]]:
    return [_summary_cells(s) for s in summarize(rows)]


def _text(headers: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    table = [list(headers), *body]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    lines = []
    for n, line in enumerate(table):
        lines.append(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def text_table(rows: Sequence[Row]) -> str:
    baseline = _baseline(rows)
    lines = _text(HEADERS, [_cells(r, baseline) for r in rows])
    lines += [f"  {r.tool} (run {r.run}): {r.note}" for r in rows if r.note]
    lines += ["", "Medians (min-max):", *_text(SUMMARY_HEADERS, summary_cells(rows))]
    return "\n".join(lines)


def _markdown(headers: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(["---", *["---:"] * (len(headers) - 1)]) + "|",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def markdown_table(rows: Sequence[Row]) -> str:
    baseline = _baseline(rows)
    return _markdown(HEADERS, [_cells(r, baseline) for r in rows])


def summary_table(rows: Sequence[Row]) -> str:
    return _markdown(SUMMARY_HEADERS, summary_cells(rows))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


CALLS_SOURCE = (
    "S3 calls are HTTP requests counted by the latency proxy in front of the server "
    "(the same counter for every tool, the Go one included), grouped by operation: "
    "PUT = PutObject, MPU = multipart create + parts + complete, HEAD = HeadObject + "
    "HeadBucket, LIST = ListObjects(V2), DELETE = DeleteObject(s). `written` = objects "
    "written (PUTs + completed multipart uploads); `calls/written` = S3 calls per object "
    "written. {agree} `CPU s` = the tool's user + system CPU time; `server CPU s` and "
    "`proxy CPU s` = what SeaweedFS and the proxy spent meanwhile (the machine has "
    "{nproc} CPUs, shared by all three). Peak RSS from {rss}. "
    "`local collect s` = the local collectstatic that aws and s5cmd upload from, not "
    "included in their wall time. Speed-up = collectstatic's wall time / the tool's. "
    "`CPU ms/obj` = the tool's CPU (start-up included) per object written. In the "
    "medians table, `+ local collect` adds that local step, as a deploy pays it, and "
    "`wall vs {reference} pipeline` divides by s5cmd's wall + its local collectstatic. "
    "`load 1m` = the machine's 1-minute load average as each run started."
)


def _load(value: Any) -> str:
    return "unknown" if not value else ", ".join(f"{v:.2f}" for v in value)


def markdown(meta: dict[str, Any], sections: Sequence[tuple[str, str, Sequence[Row]]]) -> str:
    m = meta["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    out = [
        "## Benchmark",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}; "
        f"SeaweedFS `weed mini` on loopback behind a proxy adding {meta['rtt_ms']:g} ms "
        f"round-trip time; {meta['threads']} threads for every tool that takes a count; "
        f"storage {meta['storage']}.",
        "",
        f"Fixture: {meta['fixture']}.",
        "",
        f"Versions: {versions}.",
        "",
        CALLS_SOURCE.format(
            rss=meta["rss_method"],
            agree=meta["botocore_check"],
            nproc=m["nproc"],
            reference=REFERENCE,
        ),
        "",
        f"Runs per tool: {meta.get('repeat', 1)}, taking turns. Load average (1, 5, 15 min) "
        f"before: {_load(meta.get('load_before'))}; after: {_load(meta.get('load_after'))}.",
        "",
        f"Command: `{meta['command']}`",
    ]
    for name, description, rows in sections:
        out += ["", f"### {name}: {description}", "", "Medians (min-max):", ""]
        out += [summary_table(rows), "", "Every run:", "", markdown_table(rows)]
        out += [f"\n- {r.tool} (run {r.run}): {r.note}" for r in rows if r.note]
    return "\n".join(out) + "\n"


def write(
    results_dir: Path,
    meta: dict[str, Any],
    sections: Sequence[tuple[str, str, Sequence[Row]]],
) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = results_dir / "latest.json"
    md_path = results_dir / "latest.md"
    data = {
        **meta,
        "scenarios": [
            {"name": n, "description": d, "rows": [r.to_json() for r in rows]}
            for n, d, rows in sections
        ],
    }
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    md_path.write_text(markdown(meta, sections))
    return json_path, md_path
