"""Which test files run in which environments of the matrix: every file is in one list.

``COLLECTSTUPID_TEST_SCOPE`` (set per environment in tox.ini) picks what a run collects:

- ``all`` (the default, so a plain ``pytest`` runs everything): every file;
- ``full``: every file but those of ``ONCE``;
- ``pair``: only the files of ``PAIR``.

Every Python and every Django series of the matrix gets one ``full`` or ``all`` run
(py311-lowest: Python 3.11 with Django 4.2 and every dependency at its floor;
py312-django52; py313-newest: Python 3.13 with Django 6.0 and the newest of
everything), so the other Python x Django pairs only need what meets Django's API or
the interpreter's behaviour where the two meet: ``PAIR``. What depends on neither,
and is slow or external, runs in one environment only: ``ONCE``.

A test file in none of the lists, or in two, or a list naming a file that does not
exist, stops every run at its start (see conftest.py), so no file is left out quietly.
"""

from __future__ import annotations

import os
from pathlib import Path

TESTS = Path(__file__).resolve().parent
VARIABLE = "COLLECTSTUPID_TEST_SCOPE"
SCOPES = ("all", "full", "pair")

# Django's API or the interpreter, as the command meets them: run on every pair.
PAIR = frozenset(
    {
        "test_checks.py",  # Django's system checks framework
        "test_collect.py",  # Django's finders and ignore patterns
        "test_command.py",  # BaseCommand, its parser and OutputWrapper
        "test_conf.py",  # settings, and override_settings' signals
        "test_django_staticfiles.py",  # Django's own staticfiles suite (on Django 5.2)
        "test_hashed.py",  # Django's ManifestFilesMixin post-processing
        "test_link.py",  # collectstatic's --link on the file system
        "test_loaded_manifest.py",  # the process's staticfiles_storage after a deploy
        "test_local.py",  # collectstatic's output, byte for byte
        "test_output.py",  # OutputWrapper (Django 4.2 hides fileno()), broken pipes
        "test_signals.py",  # signal handling of the interpreter, in manage.py processes
        "test_storages.py",  # Storage.save() and the mixin (Django 5.1 overwriting)
    }
)

# Depend on neither Python nor Django, or on the whole matrix at once: one run.
ONCE = frozenset(
    {
        "test_bench_stats.py",  # the bench's arithmetic
        "test_demo.py",  # example/demo.py
        "test_docs_claims.py",  # the options and request counts the docs state
        "test_docs_output.py",  # output the docs quote
        "test_package.py",  # the sdist and wheel, installed in a fresh venv
        "test_scopes.py",  # this file's lists against tox.ini
        "test_try_it.py",  # docs/try-it.md's recipes, on fixed ports
        "test_wire_check.py",  # the session's replay check, on made-up counts
        "test_workflows.py",  # the workflow linter
    }
)

# Every other file: the three full environments.
FULL = frozenset(
    {
        "test_azure.py",
        "test_backends.py",
        "test_cdn.py",
        "test_clear.py",
        "test_escaping.py",
        "test_failure_matrix.py",
        "test_failures.py",
        "test_faults.py",
        "test_gcs.py",
        "test_github_actions.py",
        "test_kill.py",
        "test_leftovers.py",
        "test_manifest.py",
        "test_media_types.py",
        "test_object_parameters.py",
        "test_parameter_cache.py",
        "test_profiles.py",
        "test_profiles_fuzz.py",
        "test_prune.py",
        "test_prune_guard.py",
        "test_report.py",
        "test_s3_backend.py",
        "test_s3_client.py",
        "test_s3_fast_path.py",
        "test_s3_replay.py",
        "test_s3_sigv4.py",
        "test_s3_writer.py",
        "test_s3local.py",
        "test_smart.py",
        "test_truncated.py",
        "test_upload.py",
        "test_verify.py",
    }
)

GROUPS = {"PAIR": PAIR, "ONCE": ONCE, "FULL": FULL}


def found_files() -> set[str]:
    """The test modules pytest finds in tests/."""
    return {path.name for path in TESTS.glob("test_*.py")}


def problems() -> list[str]:
    """What is wrong with the lists: a file in none or in two, a name with no file."""
    found = found_files()
    said = []
    for name in sorted(found):
        groups = [group for group, files in GROUPS.items() if name in files]
        if len(groups) != 1:
            where = " and ".join(groups) or "none of PAIR, ONCE and FULL"
            said.append(f"tests/{name} is in {where}; put it in exactly one")
    for group, files in GROUPS.items():
        said += [f"{group} names tests/{name}, which does not exist" for name in files - found]
    return said


def current() -> str:
    """This run's scope, from the environment ('all' when unset)."""
    return os.environ.get(VARIABLE, "") or "all"


def collected(scope: str) -> frozenset[str]:
    """The test files a run of ``scope`` collects."""
    return {"all": PAIR | ONCE | FULL, "full": PAIR | FULL, "pair": PAIR}[scope]
