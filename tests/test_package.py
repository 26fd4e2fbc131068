"""The distribution a user installs: built with ``python -m build``, checked with
``twine check``, installed (not editable) into a fresh virtualenv, and used there to
deploy the example project to the test S3 server.

The build and the install need the package index (hatchling for the build, Django and
boto3 for the install), as CI has. Marked ``package``: ``-m "not package"`` leaves
these out of a quick run.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

import django
import pytest
from packaging.version import Version

import collectstupid

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example"
OLD_PROJECT_LAST_RELEASE = Version("15.11.7")  # the 2015 project that holds the name on PyPI
# What a wheel of a Django app must never carry: our tests, tools, demo and local state.
NOT_SHIPPED = ("tests/", "s3local/", "example/", "bench/", "docs/", ".github/", "dev.py")

pytestmark = pytest.mark.package


def run(*args: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure the assertion shows what it printed."""
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, **kwargs
    )
    assert result.returncode == 0, f"{' '.join(map(str, args))}\n{result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built as a release would be (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    built = {"sdist": list(out.glob("*.tar.gz")), "wheel": list(out.glob("*.whl"))}
    assert all(len(files) == 1 for files in built.values()), built
    return {kind: files[0] for kind, files in built.items()}


def wheel_metadata(wheel: Path) -> Any:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode())


def expand(pattern: str) -> list[str]:
    """tox's brace expansion: ``py{312,313}-django{42,60}`` -> four names."""
    match = re.search(r"\{([^}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [name for part in match.group(1).split(",") for name in expand(head + part + tail)]


def matrix_versions() -> tuple[set[str], set[str]]:
    """(Python versions, Django versions) of the tox environments: what CI runs."""
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    envs = [name for line in tox["tox"]["env_list"].split() for name in expand(line)]
    pair = re.compile(r"py3(\d+)-django(\d)(\d)")
    pairs = [m for env in envs if (m := pair.fullmatch(env))]
    # Besides the pairs: every dependency at its declared floor, and at its newest release.
    assert [env for env in envs if not pair.fullmatch(env)] == [
        "py311-lowest",
        "py313-newest",
    ], envs
    pythons = {f"3.{m.group(1)}" for m in pairs}
    djangos = {f"{m.group(2)}.{m.group(3)}" for m in pairs}
    return pythons, djangos


def test_twine_accepts_the_sdist_and_the_wheel(dists: dict[str, Path]) -> None:
    result = run(sys.executable, "-m", "twine", "check", "--strict", *dists.values())
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_version_is_single_sourced_and_sorts_above_the_2015_releases(
    dists: dict[str, Path],
) -> None:
    version = wheel_metadata(dists["wheel"])["Version"]
    assert version == collectstupid.__version__
    assert dists["wheel"].name.startswith(f"collectstupid-{version}-")
    assert dists["sdist"].name == f"collectstupid-{version}.tar.gz"
    assert re.fullmatch(r"\d{2}\.\d{1,2}\.\d+", version), "calendar version YY.MM.N"
    assert Version(version) > OLD_PROJECT_LAST_RELEASE


def test_metadata_claims_what_the_matrix_tests(dists: dict[str, Path]) -> None:
    metadata = wheel_metadata(dists["wheel"])
    classifiers = set(metadata.get_all("Classifier"))
    pythons, djangos = matrix_versions()
    assert pythons == {"3.11", "3.12", "3.13"}
    assert djangos == {"4.2", "5.2", "6.0"}
    claimed_pythons = {c.rsplit(" ", 1)[1] for c in classifiers if re.search(r":: 3\.\d+$", c)}
    claimed_djangos = {c.rsplit(" ", 1)[1] for c in classifiers if "Django ::" in c}
    assert claimed_pythons == pythons
    assert claimed_djangos == djangos
    assert metadata["Requires-Python"] == f">={min(pythons, key=Version)}"
    assert metadata["License-Expression"] == "MIT"
    assert any(r.startswith("django-storages[s3]") for r in metadata.get_all("Requires-Dist"))


def test_wheel_ships_the_app_and_profiles_and_nothing_else(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as archive:
        names = archive.namelist()
    builtin = {p.name for p in (ROOT / "profiles").glob("*.yaml")}
    assert {"no-media.yaml", "media-only.yaml", "full.yaml"} <= builtin
    shipped = {n.removeprefix("collectstupid/profiles/") for n in names if "/profiles/" in n}
    assert shipped == builtin
    modules = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "collectstupid").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert "collectstupid/management/commands/collectstupid.py" in modules
    assert modules <= set(names)
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"collectstupid", f"collectstupid-{collectstupid.__version__}.dist-info"}
    leaked = [n for n in names if n.startswith(NOT_SHIPPED) or "__pycache__" in n]
    assert not leaked
    assert not [n for n in names if n.endswith((".pyc", ".orig", ".rej", "~"))]


def test_sdist_carries_what_the_tests_need(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    for needed in (
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "tox.ini",
        "profiles/no-media.yaml",
        "tests/conftest.py",
        "s3local/server.py",
        "example/manage.py",
        "collectstupid/__init__.py",
    ):
        assert needed in names
    assert not [n for n in names if n.startswith((".venv/", ".tox/", ".git/"))]


@pytest.fixture(scope="module")
def installed(dists: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and its [s3] extra, on this run's Django."""
    venv = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        f"{dists['wheel']}[s3]",
        f"Django=={django.__version__}",
    )
    return venv


def test_installed_wheel_deploys_the_example_project(
    installed: Path, s3_server: Any, s3_bucket: str, s3_client: Any, tmp_path: Path
) -> None:
    project = shutil.copytree(
        EXAMPLE, tmp_path / "example", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    # Nothing of this checkout may leak in: the deploy must run on the installed wheel.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DJANGO_"))}
    env.update(s3_server.env(), EXAMPLE_BUCKET=s3_bucket)
    python = installed / "bin" / "python"

    def manage(*args: str) -> str:
        return run(python, "manage.py", *args, cwd=project, env=env).stdout

    code = "import collectstupid as c, collectstupid.profile_files as p; print(c.__file__)"
    code += "; print(p.builtin_dir())"
    where = run(python, "-c", code, cwd=project, env=env).stdout.split()
    assert [Path(p).is_relative_to(installed) for p in where] == [True, True], where
    assert Path(where[1]).parts[-2:] == ("collectstupid", "profiles")

    listing = manage("collectstupid", "--list-profiles")
    for name in ("no-media", "media-only", "full"):
        assert re.search(rf"^{name}  \[built-in\]  \d+ files", listing, re.MULTILINE), listing

    sources = {
        f"static/{path.relative_to(root).as_posix()}"
        for root in (project / "static", project / "shop" / "static")
        for path in root.rglob("*")
        if path.is_file()
    }
    media = {key for key in sources if key.endswith((".mp3", ".mp4"))}
    assert media and media != sources

    def bucket() -> set[str]:
        pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=s3_bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", ())}

    manage("collectstupid", "--noinput")  # the default profile, no-media, from the wheel
    assert bucket() == sources - media
    manage("collectstupid", "--profile", "media-only", "--noinput")
    assert bucket() == sources
    landed = s3_client.get_object(Bucket=s3_bucket, Key="static/robots.txt")["Body"].read()
    assert landed == (project / "static" / "robots.txt").read_bytes()
