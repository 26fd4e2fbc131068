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

import sys
from collections.abc import Sequence

if __package__ in (None, ""):  # run as a script: bench/ is not a package then
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))

from bench import suite

SIZES = ("20000", "100000")


def main(argv: Sequence[str] | None = None) -> int:
    p = suite.parser("python bench/scale.py", __doc__ or "", repeat=1, timeout=1800)
    p.add_argument("--only", nargs="+", choices=SIZES, default=list(SIZES))
    args = p.parse_args(argv)
    configs = {
        f"{files} files": ["--tiny", "--files", files, "--tools", "collectstupid-smart"]
        for files in args.only
    }
    return suite.run("Scale", "scale", configs, args)


if __name__ == "__main__":
    sys.exit(main())
