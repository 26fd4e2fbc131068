"""What bench/speed.py and bench/scale.py share: their common options, and running
bench/run.py once per configuration into one Markdown summary.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def parser(prog: str, doc: str, repeat: int, timeout: int) -> argparse.ArgumentParser:
    """The options every suite takes, with its own defaults for runs and timeout."""
    p = argparse.ArgumentParser(prog=prog, description=doc.split("\n")[0])
    p.add_argument("--repeat", type=int, default=repeat, help=f"runs per tool (default {repeat})")
    p.add_argument("--rtt-ms", default="20")
    p.add_argument("--threads", default="16")
    p.add_argument("--timeout", default=str(timeout), help="seconds before one tool run is killed")
    p.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    return p


def run(title: str, name: str, configs: dict[str, list[str]], args: argparse.Namespace) -> int:
    """Run bench/run.py for each configuration; write results/<name>.md from their tables."""
    root = str(BENCH_DIR.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench.cli import main as bench_main

    parts = [f"# {title}", ""]
    status = 0
    for label, config in configs.items():
        out = args.results_dir / name / label.split()[0]
        bench_argv: Sequence[str] = [
            *config, "--repeat", str(args.repeat), "--rtt-ms", args.rtt_ms,
            "--threads", args.threads, "--timeout", args.timeout, "--results-dir", str(out),
        ]  # fmt: skip
        print(f"\n######## {label}: python bench/run.py {' '.join(bench_argv)}", flush=True)
        status |= bench_main(list(bench_argv))
        text = (out / "latest.md").read_text().replace("## Benchmark", f"## {label}", 1)
        parts.append(text)
    summary = args.results_dir / f"{name}.md"
    summary.write_text("\n".join(parts))
    print(f"\nWrote {summary}")
    return status
