"""Command line of the bench: parse options, start the server and proxy, run, report."""

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.runner import ACCESS_KEY, SECRET_KEY, Options, run
from bench.scenarios import SCENARIOS, SCENARIOS_BY_NAME
from bench.tools import ALL_TOOLS, BENCH_DIR, TOOLS_BY_NAME


def _names(values: Sequence[str], known: dict[str, object], what: str) -> list[str]:
    """Accept both `--tools a b` and `--tools a,b`."""
    names = [n for v in values for n in v.split(",") if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python bench/run.py",
        description="Deploy the same static files with collectstatic and its peers to a real "
        "S3 server behind a latency proxy; compare wall time, S3 calls and peak memory.",
    )
    p.add_argument(
        "--rtt-ms",
        type=float,
        default=20.0,
        help="round-trip time the proxy adds to every exchange (default 20)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=16,
        help="concurrency for every tool that takes one (default 16)",
    )
    p.add_argument(
        "--tools",
        nargs="+",
        default=[t.name for t in ALL_TOOLS],
        help=f"tools to run, in order (default: all: {' '.join(TOOLS_BY_NAME)})",
    )
    p.add_argument(
        "--scenarios",
        nargs="+",
        default=[s.name for s in SCENARIOS],
        help=f"scenarios (default: all: {' '.join(SCENARIOS_BY_NAME)}); "
        "they always run in this order",
    )
    p.add_argument(
        "--files",
        type=int,
        default=1000,
        help="small assets in the fixture (default 1000; audio/video come on top)",
    )
    p.add_argument(
        "--big-file-mb",
        type=int,
        default=0,
        help="add one .mp4 of this many MiB, for the memory comparison (default 0)",
    )
    p.add_argument(
        "--tiny",
        action="store_true",
        help="the scale fixture: every asset 200-2,000 bytes, no audio or video",
    )
    p.add_argument(
        "--hashed",
        action="store_true",
        help="deploy with S3ManifestStaticStorage (hashed names) instead of S3Storage",
    )
    p.add_argument(
        "--local",
        nargs="*",
        metavar="KIND",
        help="instead of S3: collectstupid against collectstatic into a local STATIC_ROOT, "
        "for these storages (default: local local-hashed local-whitenoise)",
    )
    p.add_argument(
        "--fresh-roots",
        action="store_true",
        help="with --local: every run writes a new folder, all removed at the end, instead "
        "of emptying one folder before each run (see docs/local-targets.md)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every tool this many times per scenario, taking turns, and report "
        "medians with min and max (default 1)",
    )
    p.add_argument("--seed", type=int, default=42, help="fixture seed (default 42)")
    p.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="seconds before one tool run is killed (default 1800)",
    )
    p.add_argument(
        "--work-dir",
        type=Path,
        default=BENCH_DIR / ".work",
        help="fixture cache, server data and tool scratch (default bench/.work)",
    )
    p.add_argument(
        "--results-dir",
        type=Path,
        default=BENCH_DIR / "results",
        help="where latest.json and latest.md go (default bench/results)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if min(args.threads, args.files, args.repeat) < 1 or min(args.rtt_ms, args.big_file_mb) < 0:
        raise SystemExit(
            "--threads, --files and --repeat must be at least 1; --rtt-ms, --big-file-mb >= 0"
        )
    raw = sys.argv[1:] if argv is None else list(argv)
    if args.local is not None:
        from bench.local import KINDS, run_local

        args.work_dir.mkdir(parents=True, exist_ok=True)
        return run_local(
            args.work_dir.resolve(),
            args.results_dir.resolve(),
            args.files,
            args.seed,
            args.repeat,
            _names(args.local, KINDS, "storage") or list(KINDS),
            args.timeout,
            shlex.join(["python", "bench/run.py", *raw]),
            sys.executable,
            fresh_roots=args.fresh_roots,
        )
    tool_names = _names(args.tools, dict(TOOLS_BY_NAME), "tool")
    wanted = set(_names(args.scenarios, dict(SCENARIOS_BY_NAME), "scenario"))
    opts = Options(
        rtt_ms=args.rtt_ms,
        threads=args.threads,
        tools=[TOOLS_BY_NAME[n] for n in tool_names],
        scenarios=[s for s in SCENARIOS if s.name in wanted],
        files=args.files,
        seed=args.seed,
        big_file_mb=args.big_file_mb,
        hashed=args.hashed,
        work=args.work_dir.resolve(),
        results_dir=args.results_dir.resolve(),
        timeout_s=args.timeout,
        command=shlex.join(["python", "bench/run.py", *raw]),
        repeat=args.repeat,
        tiny=args.tiny,
    )
    opts.work.mkdir(parents=True, exist_ok=True)

    # Imported here so `--help` works before the test server package is installed.
    from s3local import S3Proxy, SeaweedServer

    def server(workdir: Path) -> SeaweedServer:
        return SeaweedServer(
            workdir, access_key=ACCESS_KEY, secret_key=SECRET_KEY, auto_create_bucket=True
        )

    return run(opts, server, S3Proxy)
