"""Django's own staticfiles tests, run with collectstupid in place of collectstatic.

The suite comes from Django's source distribution (see tests/djangosuite/);
every test must pass except those docs/django-compatibility.md lists as
failing by design, and those must still fail: a listed test that starts
passing means the list, or the tool, changed without the other.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import django
import pytest

from tests.djangosuite import fetch

HERE = Path(__file__).resolve().parent
DOC = fetch.ROOT / "docs" / "django-compatibility.md"

pytestmark = pytest.mark.skipif(
    django.VERSION[:2] != (5, 2),
    reason="the acceptance suite is Django 5.2's; run it under Django 5.2",
)


def documented_failures() -> set[str]:
    """The test ids listed under the page's "Fail by design" heading."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Fail by design", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^- `(staticfiles_tests\.[\w.]+)`", section, re.MULTILINE))


def tail(text: str, lines: int = 6, width: int = 400) -> str:
    return "\n".join(line[:width] for line in text.splitlines()[-lines:])


def run_suite(tests: Path, results: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SUITE_RESULTS": str(results),
        "PYTHONPATH": str(HERE / "djangosuite"),
    }
    return subprocess.run(
        [
            sys.executable,
            "runtests.py",
            "staticfiles_tests",
            "--parallel",
            "1",
            "--settings",
            "suite_settings",
            "--noinput",
        ],
        cwd=tests,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_django_staticfiles_suite(tmp_path: Path) -> None:
    expected = documented_failures()
    assert expected, f"{DOC} lists no test under '## Fail by design'"
    tests = fetch.suite(django.__version__)
    results = tmp_path / "results.json"
    proc = run_suite(tests, results)
    assert results.exists(), f"runtests.py recorded nothing:\n{proc.stdout}\n{proc.stderr}"
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["run"] == len(data["tests"]) > 0
    missing = expected - set(data["tests"])
    assert not missing, f"listed but not in the suite: {missing}"
    unexpected = sorted(set(data["failed"]) - expected)
    # Each traceback's end says why; the whole of twenty of them would bury it.
    why = "\n\n".join(f"{t}\n{tail(data['details'][t])}" for t in unexpected)
    assert not unexpected, f"{len(unexpected)} unexpected failures:\n{why}"
    assert set(data["failed"]) == expected, f"listed but passing: {expected - set(data['failed'])}"
    assert not data["unexpected_successes"]
