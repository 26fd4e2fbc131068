"""Entry point: `python bench/run.py --help` (or `python -m bench.run`)."""

import sys
from pathlib import Path


def _main() -> int:
    # Run as a script, only bench/ is on sys.path; the bench is the `bench` package
    # and also needs `s3local` and `collectstupid` from the repository root.
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(_main())
