#!/usr/bin/env python3
"""Set up a virtualenv in .venv and run the demo deploy or the test suite.

    python3 dev.py demo    deploy example/ to a local S3 server, profile by profile
    python3 dev.py test    run ruff, build the docs, run the whole test suite (what CI runs)

Needs only Python 3.11+ (with its venv module) and git; everything else comes from PyPI.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*args: str | Path) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    code = subprocess.call([str(a) for a in args], cwd=ROOT)
    if code:
        sys.exit(code)


def setup() -> None:
    # dev.py runs on whatever python3 the user has, before any pyproject check can speak.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"collectstupid needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print(f"Creating a virtualenv in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[test,docs]")


def main() -> None:
    task = sys.argv[1] if len(sys.argv) > 1 else ""
    extra = sys.argv[2:]
    if task not in ("demo", "test"):
        sys.exit(__doc__)
    setup()
    if task == "demo":
        run(PYTHON, "example/demo.py", *extra)
    else:
        run(PYTHON, "-m", "ruff", "check", ".")
        # -E re-reads every page, so a warning in an unchanged page fails the build too.
        run(PYTHON, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
            "docs", "docs/_build/html")
        run(PYTHON, "-m", "pytest", *extra)


if __name__ == "__main__":
    main()
