"""Tables for the terminal and for the README, and the JSON dump of a bench run."""

import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.results import OP_GROUPS, Row

HEADERS = (
    "tool",
    "wall s",
    "CPU s",
    "server CPU s",
    "proxy CPU s",
    "local collect s",
    "S3 calls",
    *OP_GROUPS,
    "other",
    "written",
    "calls/written",
    "peak RSS MB",
    "speed-up",
)
BASELINE = "collectstatic"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _cells(row: Row, baseline: Row | None) -> list[str]:
    if row.status != "ok":
        return [row.tool, row.status, *["-"] * (len(HEADERS) - 2)]
    speedup = None
    if baseline is not None and baseline.status == "ok" and row.wall_s and baseline.wall_s:
        speedup = baseline.wall_s / row.wall_s
    return [
        row.tool,
        _num(row.wall_s, 2),
        _num(row.cpu_s, 2),
        _num(row.server_cpu_s, 2),
        _num(row.proxy_cpu_s, 2),
        _num(row.local_collect_s, 2),
        str(row.total_calls),
        *[str(row.group(name)) for name in OP_GROUPS],
        str(row.group("other")),
        str(row.written),
        _num(row.calls_per_written, 2),
        _num(row.peak_rss_mb, 0),
        "-" if speedup is None else f"{speedup:.1f}x",
    ]


def _baseline(rows: Sequence[Row]) -> Row | None:
    return next((r for r in rows if r.tool == BASELINE), None)


def text_table(rows: Sequence[Row]) -> str:
    baseline = _baseline(rows)
    table = [list(HEADERS), *[_cells(r, baseline) for r in rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
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
    notes = [f"  {r.tool}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + notes)


def markdown_table(rows: Sequence[Row]) -> str:
    baseline = _baseline(rows)
    lines = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---", *["---:"] * (len(HEADERS) - 1)]) + "|",
    ]
    lines += ["| " + " | ".join(_cells(r, baseline)) + " |" for r in rows]
    return "\n".join(lines)


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
    "included in their wall time. Speed-up = collectstatic's wall time / the tool's."
)


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
        CALLS_SOURCE.format(rss=meta["rss_method"], agree=meta["botocore_check"], nproc=m["nproc"]),
        "",
        f"Command: `{meta['command']}`",
    ]
    for name, description, rows in sections:
        out += ["", f"### {name}: {description}", "", markdown_table(rows)]
        out += [f"\n- {r.tool}: {r.note}" for r in rows if r.note]
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
