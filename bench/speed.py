"""The speed suite in one command: every fixture the speed targets are set on.

    python bench/speed.py              # 3 runs per tool, 20 ms RTT, 16 threads
    python bench/speed.py --repeat 5 --only plain-1000

Runs bench/run.py's `fresh` scenario for collectstupid and its peers on the
~1000-asset fixture, a 20,000-asset one, and with hashed names, and writes one
Markdown file (bench/results/speed.md) with each configuration's tables; every
configuration's own latest.json/latest.md go to bench/results/speed/<name>/.
Plain collectstatic is left out: at 20 ms RTT it takes minutes per run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
TOOLS = ("collectfasta", "aws-s3-sync", "s5cmd-cp", "awscrt-put", "collectstupid")
CONFIGS: dict[str, list[str]] = {
    "plain-1000": ["--files", "1000"],
    "plain-20000": ["--files", "20000"],
    "hashed-1000": ["--files", "1000", "--hashed"],
}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/speed.py", description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=3, help="runs per tool (default 3)")
    p.add_argument("--only", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    p.add_argument("--tools", nargs="+", default=list(TOOLS))
    p.add_argument("--rtt-ms", default="20")
    p.add_argument("--threads", default="16")
    p.add_argument("--timeout", default="900", help="seconds before one tool run is killed")
    p.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    args = p.parse_args(argv)

    root = str(BENCH_DIR.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench.cli import main as bench_main

    parts = ["# Speed suite", ""]
    status = 0
    for name in args.only:
        out = args.results_dir / "speed" / name
        bench_argv = [
            *CONFIGS[name], "--scenarios", "fresh", "--tools", *args.tools,
            "--repeat", str(args.repeat), "--rtt-ms", args.rtt_ms,
            "--threads", args.threads, "--timeout", args.timeout, "--results-dir", str(out),
        ]  # fmt: skip
        print(f"\n######## {name}: python bench/run.py {' '.join(bench_argv)}", flush=True)
        status |= bench_main(bench_argv)
        text = (out / "latest.md").read_text().replace("## Benchmark", f"## {name}", 1)
        parts.append(text)
    summary = args.results_dir / "speed.md"
    summary.write_text("\n".join(parts))
    print(f"\nWrote {summary}")
    return status


if __name__ == "__main__":
    sys.exit(main())
