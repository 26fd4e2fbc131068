#!/usr/bin/env python3
"""Set up a virtualenv in .venv and run the demo deploy or the test suite.

    python3 dev.py demo    deploy example/ to a local S3 server, profile by profile
    python3 dev.py test    run ruff, build the docs, run the whole test suite (what CI runs)

Needs only Python 3.11+ (with its venv module) and git; everything else comes from PyPI,
except Azurite, the Azure Blob Storage emulator, which comes from npm into .tools/ and runs
with Node.js (without Node.js the Azure tests are skipped, and fail under CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
TOOLS = ROOT / ".tools"
# The newest Azurite that runs on Node.js 20 (3.36 and later want Node.js 21+).
AZURITE_VERSION = "3.35.0"


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
    install_azurite()


def install_azurite() -> None:
    """The pinned Azurite in .tools/node_modules, unless it is there already."""
    installed = TOOLS / "node_modules" / "azurite" / "package.json"
    if installed.is_file() and json.loads(installed.read_text())["version"] == AZURITE_VERSION:
        return
    npm = shutil.which("npm")
    if npm is None:
        message = "npm (Node.js) not found: the Azure tests need Azurite, installed with npm."
        if os.environ.get("CI"):
            sys.exit(message)
        print(f"{message} They will be skipped.", flush=True)
        return
    TOOLS.mkdir(exist_ok=True)
    run(npm, "install", "--prefix", TOOLS, "--no-save", "--no-audit", "--no-fund",
        "--ignore-scripts", "--loglevel=error", f"azurite@{AZURITE_VERSION}")


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
