from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import django.test.signals  # noqa: F401  (Django's receivers must connect before ours)
import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed

from tests import scopes

pytest_plugins = [
    "tests.s3_fixtures",
    "tests.emulator_fixtures",
    "tests.cdn_fixtures",
    "tests.wire_check",
]

Files = Mapping[str, bytes | str]


def write_tree(root: Path, files: Files) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    return root


def _pin_storages(*, setting: str, **_: object) -> None:
    # On Django 4.2, overriding STORAGES also marks STATICFILES_STORAGE as
    # overridden, and the handler then rebuilds the staticfiles entry from it
    # without OPTIONS: the target would silently become the current folder (or an
    # S3 storage without its bucket). Django rebuilds on a change of STATIC_URL or
    # STATIC_ROOT too. Connected after Django's own receiver, so this runs last.
    if setting in ("STORAGES", "STATIC_URL", "STATIC_ROOT"):
        storages.__dict__["backends"] = dict(settings.STORAGES)
        storages._storages = {}


setting_changed.connect(_pin_storages)


def pytest_sessionstart(session: pytest.Session) -> None:
    # A test file in no list of tests/scopes.py would run in no environment.
    problems = scopes.problems()
    if scopes.current() not in scopes.SCOPES:
        problems.append(f"{scopes.VARIABLE}={scopes.current()!r} is not one of {scopes.SCOPES}")
    if problems:
        raise pytest.UsageError("tests/scopes.py: " + "; ".join(problems))


def pytest_report_header(config: pytest.Config) -> str:
    scope = scopes.current()
    if scope not in scopes.SCOPES:
        return f"test scope: {scope!r} (unknown)"
    count = len(scopes.collected(scope))
    return (
        f"test scope: {scope} ({count} of {len(scopes.found_files())} test files; tests/scopes.py)"
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave out the test files this environment's scope does not run; a file named on
    the command line is collected whatever the scope."""
    if collection_path.parent != scopes.TESTS or not collection_path.name.startswith("test_"):
        return None
    if scopes.current() not in scopes.SCOPES:
        return None
    return True if collection_path.name not in scopes.collected(scopes.current()) else None


@pytest.fixture(autouse=True)
def _fresh_storages():
    # Django caches storage instances; settings changes in a test must be seen.
    storages._storages = {}
    yield
    storages._storages = {}


@pytest.fixture
def static_files(settings, tmp_path) -> Callable[..., Path]:
    """Make a static source folder (or several, with prefixes) used by FileSystemFinder."""
    dirs: list = []

    def make(files: Files, prefix: str | None = None, name: str = "src") -> Path:
        root = write_tree(tmp_path / f"{name}{len(dirs)}", files)
        dirs.append((prefix, str(root)) if prefix else str(root))
        settings.STATICFILES_DIRS = list(dirs)
        return root

    return make


@pytest.fixture
def static_root(settings, tmp_path) -> Path:
    """A local FileSystemStorage target."""
    root = tmp_path / "static_root"
    settings.STATIC_ROOT = str(root)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    return root
