from __future__ import annotations

import ctypes
import json
import os
import subprocess
from io import StringIO

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.core.management.base import CommandError

from collectstupid.storage import StupidStorageMixin
from tests import helpers
from tests.helpers import run, tree
from tests.processes import ROOT, command_environ, command_line

ASSETS = {
    **helpers.ASSETS,
    ".hidden": "not collected",
    "notes.txt~": "backup, not collected",
}


def test_default_profile_uploads_everything_but_media(static_files, static_root):
    src = static_files(ASSETS)
    out = run()
    landed = tree(static_root)
    assert set(landed) == {"css/site.css", "js/app.js", "img/logo.png"}
    for name, content in landed.items():
        assert content == (src / name).read_bytes()
    assert "3 static files copied to" in out
    assert "2 files (3.1 KB) left out by profile 'no-media'" in out


def test_two_split_jobs_deploy_what_full_deploys(static_files, static_root, settings, tmp_path):
    static_files(ASSETS)
    run("--profile", "no-media")
    run("--profile", "media-only")
    split = tree(static_root)
    full_root = tmp_path / "full_root"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(full_root)},
        },
    }
    from django.core.files.storage import storages

    storages._storages = {}
    out = run("--profile", "full")
    assert "5 static files copied" in out and "nothing left out by profile 'full'" in out
    assert tree(full_root) == split
    assert len(split) == 5


def test_rerun_overwrites_in_place_without_renaming(static_files, static_root):
    src = static_files({"css/site.css": "v1"})
    run()
    (src / "css/site.css").write_text("v2")
    run()
    assert tree(static_root) == {"css/site.css": b"v2"}


def test_first_finder_wins_and_duplicates_are_reported(static_files, static_root):
    static_files({"css/site.css": "first"}, name="a")
    static_files({"css/site.css": "second", "js/other.js": "x"}, name="b")
    out = run()
    assert tree(static_root)["css/site.css"] == b"first"
    assert "Found another file with the destination path 'css/site.css'" in out
    quiet = run(verbosity=0)
    assert quiet == ""


def test_prefixed_dirs_land_under_their_prefix(static_files, static_root):
    static_files({"a.css": "x"}, prefix="vendor")
    run()
    assert set(tree(static_root)) == {"vendor/a.css"}


def test_include_and_exclude_on_top_of_the_profile(static_files, static_root):
    static_files(ASSETS)
    run("--include", "media/*.mp3", "--exclude", "*.png")
    assert set(tree(static_root)) == {"css/site.css", "js/app.js", "media/theme.mp3"}


def test_ignore_patterns_and_no_default_ignore(static_files, static_root):
    static_files(ASSETS)
    run("--profile", "full", "-i", "img", "--no-default-ignore")
    landed = set(tree(static_root))
    assert ".hidden" in landed and "notes.txt~" in landed
    assert "img/logo.png" not in landed


def test_dry_run_writes_nothing_and_lists_with_totals(static_files, static_root):
    static_files(ASSETS)
    out = run("--dry-run")
    assert not static_root.exists()
    assert "Would upload 'css/site.css'" in out
    assert "Would upload 'media/intro.mp4'" not in out
    assert "3 static files (" in out and "would be uploaded" in out


def test_verbosity_two_lists_each_upload(static_files, static_root):
    static_files({"a.css": "x", "b.js": "y"})
    out = run(verbosity=2)
    assert "Copying 'a.css'" in out and "Copying 'b.js'" in out


def test_report_json(static_files, static_root, tmp_path):
    static_files(ASSETS)
    path = tmp_path / "report.json"
    run("--report-json", str(path))
    data = json.loads(path.read_text())
    assert data["profile"] == "no-media"
    assert data["totals"]["uploaded_files"] == 3
    assert data["totals"]["left_out_files"] == 2
    assert {f["destination"] for f in data["files"]} == {
        "css/site.css",
        "js/app.js",
        "img/logo.png",
    }
    assert all(f["status"] == "uploaded" and f["error"] is None for f in data["files"])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing/report.json", "the folder '{tmp}/missing' does not exist"),
        ("", "is a folder; give a file name"),
    ],
)
def test_an_unwritable_report_path_stops_before_any_upload(
    static_files, static_root, tmp_path, name, message
):
    static_files(ASSETS)
    with pytest.raises(CommandError) as raised:
        run("--report-json", str(tmp_path / name))
    assert message.format(tmp=tmp_path) in str(raised.value)
    assert not static_root.exists()


def test_a_report_that_cannot_be_written_after_the_deploy_fails_the_run(
    static_files, static_root, tmp_path, monkeypatch
):
    static_files(ASSETS)
    folder = tmp_path / "reports"
    folder.mkdir()
    from collectstupid import collect

    def find_then_lose_the_folder(patterns):
        folder.rmdir()  # after the preflight check, as a cleanup job might
        return collect.find_files(patterns)

    monkeypatch.setattr("collectstupid.planning.find_files", find_then_lose_the_folder)
    out = StringIO()
    with pytest.raises(CommandError, match=r"The report could not be written to .*report\.json"):
        call_command(
            "collectstupid",
            "--report-json",
            str(folder / "report.json"),
            interactive=False,
            stdout=out,
            stderr=out,
        )
    assert "3 static files copied" in out.getvalue()
    assert set(tree(static_root)) == {"css/site.css", "js/app.js", "img/logo.png"}


def test_list_profiles_counts_this_projects_files(static_files, static_root):
    static_files(ASSETS)
    out = run("--list-profiles")
    lines = out.splitlines()
    assert any(line.startswith("no-media  [built-in]  3 files") for line in lines)
    assert any(line.startswith("media-only  [built-in]  2 files, 3.1 KB") for line in lines)
    assert any(line.startswith("full  [built-in]  5 files") for line in lines)
    assert not static_root.exists()


def test_project_profiles_and_default_profile_setting(
    static_files, static_root, settings, tmp_path
):
    static_files(ASSETS)
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "css-only.yaml").write_text("include: ['*.css']\n")
    settings.COLLECTSTUPID = {"PROFILES": str(tmp_path / "profiles"), "DEFAULT_PROFILE": "css-only"}
    out = run()
    assert set(tree(static_root)) == {"css/site.css"}
    assert "profile 'css-only'" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--profile", "nope"), "Unknown profile 'nope'. Known profiles: full, media-only"),
        (
            ("--profile", "no_media"),
            "Unknown profile 'no_media'. Did you mean 'no-media'? Known profiles: full, ",
        ),
        (("--include", "!"), "The command line's --include '!' is not a pattern"),
        (
            ("--exclude", "[z-a]"),
            "--exclude '[z-a]' is not a pattern collectstupid can use: "
            "'[z-a]' has a character range that cannot be read",
        ),
        (("--exclude", "*"), "selects none of the 5 static files found"),
        (("--threads", "0"), "--threads must be a whole number of at least 1"),
        (("--threads", "1000000000"), "--threads is 1000000000, more than the 256 uploads"),
    ],
)
def test_bad_input_is_a_command_error_and_nothing_lands(static_files, static_root, args, message):
    static_files(ASSETS)
    with pytest.raises(CommandError) as info:
        run(*args)
    assert message in str(info.value)
    assert not static_root.exists()


def test_allow_empty(static_files, static_root):
    static_files(ASSETS)
    out = run("--exclude", "*", "--allow-empty")
    assert "0 static files copied" in out


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"THREADS": "8"}, "THREADS'] must be a whole number"),
        ({"PROFILES": 3}, "PROFILES'] must be a path or a list of paths"),
        ({"DEFAULT_PROFILE": "nope"}, "Unknown profile 'nope'"),
        ({"THREDS": 3}, "unknown key(s): THREDS"),
        ([1], "COLLECTSTUPID must be a dict"),
        ({"PROFILES": "/does/not/exist"}, "Profiles path /does/not/exist does not exist"),
        ({"THREADS": 10**9}, "COLLECTSTUPID['THREADS'] is 1000000000, more than the 256"),
        ({"MANIFEST_NAME": "a\x00b.json"}, "no '..', '.', '//', backslash or NUL byte"),
        ({"MANIFEST_NAME": "m/" + "x" * 1100}, "is 1102 bytes long; S3 keys are at most 1024"),
    ],
)
def test_bad_settings(static_files, static_root, settings, value, message):
    static_files(ASSETS)
    settings.COLLECTSTUPID = value
    with pytest.raises(CommandError) as info:
        run()
    assert message in str(info.value)
    assert not static_root.exists()


# prctl(2) and capability.h: a capability dropped from the bounding set is not
# granted again when the process executes a program, even to root.
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def reading_by_mode_only() -> None:
    """In a child about to start the command: as root, give up the capabilities that
    read and search past a file's mode, so a mode of 0 stops it as it stops any user."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_unreadable_file_stops_before_any_upload(static_files, tmp_path):
    src = static_files(ASSETS)
    (src / "js/app.js").chmod(0)
    root = tmp_path / "static_root"
    child = subprocess.run(
        command_line(),
        cwd=ROOT,
        env=command_environ("tests.deploy_fs_settings", src, {"location": str(root)}),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=reading_by_mode_only,
        check=False,
    )
    err = child.stderr
    assert child.returncode == 1, child.stdout + err
    assert "1 static file cannot be read, so nothing was uploaded:" in err
    assert f"  js/app.js ({src / 'js/app.js'}): permission denied\n" in err
    assert "Traceback" not in err
    assert not root.exists()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (os.remove, "not found"),
        # Root reads every file whatever its mode; a folder in its place fails for anyone.
        (lambda path: (os.remove(path), os.mkdir(path)), "not a regular file"),
    ],
)
def test_a_file_gone_after_finding_stops_before_any_upload(
    static_files, static_root, monkeypatch, change, reason
):
    static_files(ASSETS)
    from collectstupid import collect

    real = collect.find_files

    def vanishing(patterns):
        found = real(patterns)
        change(found.files[0].storage.path(found.files[0].path))
        return found

    monkeypatch.setattr("collectstupid.planning.find_files", vanishing)
    message = f"(?s)1 static file cannot be read, so nothing was uploaded:.*: {reason}\\n"
    with pytest.raises(CommandError, match=message):
        run("--profile", "full")
    assert not static_root.exists()


def test_hashed_storage_deploys_hashed_copies_and_a_complete_manifest(
    static_files, static_root, settings
):
    # The details, and equivalence with collectstatic, are in test_hashed.py.
    static_files(ASSETS)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    out = run()
    landed = tree(static_root)
    paths = json.loads(landed.pop("staticfiles.json"))["paths"]
    assert set(paths) == {
        "css/site.css",
        "js/app.js",
        "img/logo.png",
        "media/intro.mp4",
        "media/theme.mp3",
    }
    shipped = ("css/site.css", "js/app.js", "img/logo.png")
    assert set(landed) == {*shipped, *(paths[name] for name in shipped)}
    # As collectstatic counts: originals copied, then post-processing results (of what ships).
    assert "3 static files copied to" in out and ", 3 post-processed (7 files, " in out
    out = run("--no-post-process", "--profile", "media-only")
    assert "2 static files copied" in out and "post-processed" not in out
    assert "media/intro.mp4" in tree(static_root)


def test_storage_that_raises_names_the_file_and_uploads_the_rest(
    static_files, static_root, settings
):
    static_files(ASSETS)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "tests.storages.FailingStorage",
            "OPTIONS": {"location": str(static_root), "fail": ["js/app.js"]},
        },
    }
    with pytest.raises(CommandError) as info:
        run()
    assert "1 of 3 files failed to upload" in str(info.value)
    assert "js/app.js: OSError: disk on fire" in str(info.value)
    assert set(tree(static_root)) == {"css/site.css", "img/logo.png"}
    assert "The other files were uploaded; run the command again to retry." in str(info.value)


def test_one_reason_for_every_failure_is_said_once(static_files, static_root, settings):
    files = {f"css/f{i}.css": f"f{i}" for i in range(8)}
    static_files(files)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "tests.storages.FailingStorage",
            "OPTIONS": {"location": str(static_root), "fail": list(files)},
        },
    }
    with pytest.raises(CommandError) as info:
        run()
    message = str(info.value)
    assert message.startswith("8 of 8 files failed to upload, all with OSError: disk on fire\n")
    assert message.count("css/f") == 5
    assert message.endswith("Nothing was uploaded; run the command again to retry.")


class MixedInStorage(StupidStorageMixin, FileSystemStorage):
    """A project's own class that already includes the mixin."""


@pytest.mark.parametrize(
    ("backend", "name"),
    [
        ("django.core.files.storage.FileSystemStorage", "FileSystemStorage"),
        ("tests.test_command.MixedInStorage", "MixedInStorage"),
    ],
)
def test_debug_output_names_the_configured_storage_class(
    static_files, static_root, settings, backend, name
):
    static_files(ASSETS)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": backend, "OPTIONS": {"location": str(static_root)}},
    }
    out = run(verbosity=3)
    assert f"storage {name}." in out


def test_a_broken_profile_the_run_does_not_use_is_a_warning(
    static_files, static_root, settings, tmp_path
):
    static_files(ASSETS)
    (tmp_path / "typo.yaml").write_text("exclude:\n  - *.map\n")
    settings.COLLECTSTUPID = {"PROFILES": [str(tmp_path)]}
    out, err = helpers.run_split("--profile", "no-media")
    assert "3 static files copied" in out
    assert err.count("\n") == 1
    assert "Not used in this run: Profile file" in err and str(tmp_path / "typo.yaml") in err
    with pytest.raises(CommandError, match=r"typo\.yaml is not valid YAML.*Quote patterns"):
        run("--profile", "typo")
    listed = run("--list-profiles")
    assert "typo  [cannot be used]" in listed and "no-media  [built-in]" in listed


def test_a_relative_profiles_path_starts_at_base_dir(
    static_files, static_root, settings, tmp_path, monkeypatch
):
    static_files(ASSETS)
    (tmp_path / "project" / "deploy").mkdir(parents=True)
    (tmp_path / "project" / "deploy" / "css.yaml").write_text("include: ['css/']\n")
    settings.BASE_DIR = tmp_path / "project"
    settings.COLLECTSTUPID = {"PROFILES": "deploy"}
    monkeypatch.chdir(tmp_path)  # not the project folder: the path must not depend on it
    out = run("--profile", "css")
    assert "1 static file copied" in out


@pytest.mark.parametrize(
    "backend",
    [
        "django.contrib.staticfiles.storage.StaticFilesStorage",
        "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
    ],
)
def test_no_static_root_is_found_before_anything_is_done(static_files, settings, backend):
    static_files(ASSETS)
    settings.STATIC_ROOT = None
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": backend}}
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("collectstupid", interactive=False, stdout=out, stderr=out, verbosity=2)
    message = str(info.value)
    assert message.startswith(
        "You're using the staticfiles app without having set the "
        "STATIC_ROOT setting to a filesystem path."
    )
    assert "Nothing was written" in message
    assert out.getvalue() == ""  # no post-processing, no upload, no per-file failure


def test_the_destination_is_named_as_a_path(static_files, static_root, monkeypatch):
    static_files(ASSETS)
    answers = []
    monkeypatch.setattr("builtins.input", lambda prompt: answers.append(prompt) or "yes")
    out = StringIO()
    call_command("collectstupid", stdout=out, stderr=out)
    assert f"upload static files to '{static_root}'" in answers[0]
    assert f"copied to '{static_root}'" in out.getvalue()


def test_help_names_the_profiles(settings, tmp_path):
    (tmp_path / "lean.yaml").write_text("extends: no-media\n")
    settings.COLLECTSTUPID = {"PROFILES": [str(tmp_path)]}
    from collectstupid.management.commands.collectstupid import Command

    text = " ".join(Command().create_parser("manage.py", "collectstupid").format_help().split())
    assert "Profile to deploy: full, lean, media-only, no-media (default" in text


def test_help_groups_the_options_with_djangos_own_last():
    from collectstupid.management.commands.collectstupid import Command

    text = Command().create_parser("manage.py", "collectstupid").format_help()
    headings = [line for line in text.splitlines() if line.endswith(":") and line[0] != " "]
    assert headings == [
        "what is deployed:",
        "how it is uploaded:",
        "smart mode and cleanup:",
        "CDN:",
        "output:",
        "Django's options:",
    ]
    # Each option once, under its heading: --prune with cleanup, -v with Django's.
    sections = text.split("\n\n")
    (cleanup,) = [s for s in sections if s.startswith("smart mode and cleanup:")]
    (django,) = [s for s in sections if s.startswith("Django's options:")]
    assert "  --prune " in cleanup and "  -c, --clear " in cleanup
    # Python 3.13's argparse names the choices once, after the long option.
    assert "  -v {0,1,2,3}, --verbosity" in django or "  -v, --verbosity {0,1,2,3}" in django
    assert "--profile" not in django
