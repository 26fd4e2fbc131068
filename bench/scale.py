"""The scale scenario in one command: smart mode on tiny files, at 20,000 and 100,000.

    python bench/scale.py                   # both sizes, one run each, 20 ms RTT, 16 threads
    python bench/scale.py --only 20000 --repeat 3

Runs bench/run.py's three scenarios (fresh, rerun-touched: a no-op for smart mode,
changed-1pct) for `collectstupid-smart` on the `--tiny` fixture (every asset 200-2,000
bytes, no audio or video), and writes one Markdown file (bench/results/scale.md) with
wall, CPU, peak RSS and the manifest's bytes for each; every size's own
latest.json/latest.md go to bench/results/scale/<files>/.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SIZES = ("20000", "100000")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/scale.py", description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", choices=SIZES, default=list(SIZES))
    p.add_argument("--repeat", type=int, default=1, help="runs per scenario (default 1)")
    p.add_argument("--rtt-ms", default="20")
    p.add_argument("--threads", default="16")
    p.add_argument("--timeout", default="1800", help="seconds before one tool run is killed")
    p.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    args = p.parse_args(argv)

    root = str(BENCH_DIR.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench.cli import main as bench_main

    parts = ["# Scale", ""]
    status = 0
    for files in args.only:
        out = args.results_dir / "scale" / files
        bench_argv = [
            "--tiny", "--files", files, "--tools", "collectstupid-smart",
            "--repeat", str(args.repeat), "--rtt-ms", args.rtt_ms, "--threads", args.threads,
            "--timeout", args.timeout, "--results-dir", str(out),
        ]  # fmt: skip
        print(f"\n######## {files}: python bench/run.py {' '.join(bench_argv)}", flush=True)
        status |= bench_main(bench_argv)
        text = (out / "latest.md").read_text().replace("## Benchmark", f"## {files} files", 1)
        parts.append(text)
    summary = args.results_dir / "scale.md"
    summary.write_text("\n".join(parts))
    print(f"\nWrote {summary}")
    return status


if __name__ == "__main__":
    sys.exit(main())
