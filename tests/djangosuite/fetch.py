"""Django's own staticfiles tests, fetched from Django's source distribution.

Only what ``runtests.py staticfiles_tests`` imports is extracted, into a
git-ignored cache folder, and a few lines are changed so the suite exercises
collectstupid: ``cases.py`` calls ``collectstupid`` where it called
``collectstatic``, and the suite's settings (and the one test class that
replaces them) install the ``collectstupid`` app.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"

# What runtests.py needs to run staticfiles_tests: test_management imports
# admin_scripts.tests, which imports user_commands.utils.
MEMBERS = (
    "tests/runtests.py",
    "tests/test_sqlite.py",
    "tests/urls.py",
    "tests/staticfiles_tests/",
    "tests/admin_scripts/",
    "tests/user_commands/",
)

# (file, Django's text, what follows it in ours): each text must occur exactly
# once, so a Django release that moves these lines stops the harness instead of
# quietly testing collectstatic.
PATCHES = (
    ("staticfiles_tests/cases.py", 'call_command(\n            "collectstatic",', None),
    (
        "staticfiles_tests/settings.py",
        '"INSTALLED_APPS": [\n        "django.contrib.staticfiles",\n',
        '        "collectstupid",\n',
    ),
    (
        # The one test class that replaces INSTALLED_APPS rather than extending it.
        "staticfiles_tests/test_management.py",
        '"staticfiles_tests.apps.staticfiles_config.IgnorePatternsAppConfig",\n',
        '        "collectstupid",\n',
    ),
)


def download(version: str, into: Path) -> Path:
    """Django's sdist for ``version``, through pip (PyPI or the configured index)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-binary",
            ":all:",
            "--no-deps",
            f"django=={version}",
            "-d",
            str(into),
        ],
        check=True,
    )
    found = sorted(into.glob("[dD]jango-*.tar.gz"))
    if len(found) != 1:
        raise RuntimeError(f"pip download left {found or 'nothing'} in {into}")
    return found[0]


def extract(sdist: Path, into: Path) -> Path:
    """The needed members of ``sdist`` under ``into``; returns its tests folder."""
    with tarfile.open(sdist) as archive:
        top = archive.getmembers()[0].name.split("/")[0]
        wanted = [
            m
            for m in archive.getmembers()
            if any(m.name.startswith(f"{top}/{prefix}") for prefix in MEMBERS)
        ]
        # The "data" filter refuses links and paths that leave ``into`` (3.11.4+).
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(into, members=wanted, **safe)
    return into / top / "tests"


def patch(tests: Path) -> None:
    for name, old, added in PATCHES:
        path = tests / name
        text = path.read_text(encoding="utf-8")
        if text.count(old) != 1:
            raise RuntimeError(f"{path} no longer holds {old!r} exactly once; update PATCHES")
        new = old.replace("collectstatic", "collectstupid") if added is None else old + added
        path.write_text(text.replace(old, new), encoding="utf-8")


def suite(version: str) -> Path:
    """The patched tests folder for Django ``version``, fetched on first use."""
    target = CACHE / f"django-{version}-tests"
    if (target / "runtests.py").is_file():
        return target
    CACHE.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="fetch-", dir=CACHE))
    try:
        tests = extract(download(version, work), work)
        patch(tests)
        # Renamed into place whole: an interrupted fetch leaves no half suite behind.
        try:
            tests.rename(target)
        except OSError:
            # Parallel environments fetch at once; the first rename wins.
            if not (target / "runtests.py").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
