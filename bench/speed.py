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

import sys
from collections.abc import Sequence

if __package__ in (None, ""):  # run as a script: bench/ is not a package then
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))

from bench import suite

TOOLS = ("collectfasta", "aws-s3-sync", "s5cmd-cp", "awscrt-put", "collectstupid")
CONFIGS: dict[str, list[str]] = {
    "plain-1000": ["--files", "1000"],
    "plain-20000": ["--files", "20000"],
    "hashed-1000": ["--files", "1000", "--hashed"],
}


def main(argv: Sequence[str] | None = None) -> int:
    p = suite.parser("python bench/speed.py", __doc__ or "", repeat=3, timeout=900)
    p.add_argument("--only", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    p.add_argument("--tools", nargs="+", default=list(TOOLS))
    args = p.parse_args(argv)
    configs = {
        name: [*CONFIGS[name], "--scenarios", "fresh", "--tools", *args.tools] for name in args.only
    }
    return suite.run("Speed suite", "speed", configs, args)


if __name__ == "__main__":
    sys.exit(main())
