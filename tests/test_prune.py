"""--prune: what a profile no longer ships is deleted after the deploy, from the manifest alone.

The record and its rules are tested as pure functions first; then deploys run
against the real S3 server (every botocore call counted) and local disk.
"""

from __future__ import annotations

import json
import time

import pytest
from django.core.management.base import CommandError

from collectstupid import manifest
from collectstupid.errors import ManifestFormatError
from collectstupid.manifest import Contents, Entry, Pending, Record, Shipped, packed
from collectstupid.manifest.entries import FORMAT
from s3local import FaultPlan
from tests.conftest import write_tree
from tests.helpers import ASSETS, MANIFEST, assert_truthful, counted, run, version_4_doc
from tests.test_hashed import ASSETS as HASHED_ASSETS
from tests.test_hashed import s3_hashed  # noqa: F401  (a fixture)

# The S3 deploys here take the path s3_path picks (tests/s3_fixtures.py).
pytestmark = pytest.mark.usefixtures("s3_path")

NAME = MANIFEST
E = Entry("0" * 64, 1)
NOW = 2_000_000_000.0


def shipped(
    *paths: str, hashed: tuple[str, ...] = (), keep: int = 2, profile: str = "p"
) -> Shipped:
    return Shipped(profile, frozenset(paths) | frozenset(hashed), frozenset(hashed), keep)


# --- the record ---------------------------------------------------------------


def test_first_deploy_of_a_profile_dooms_nothing_it_did_not_record():
    # Entries from before any record (an older collectstupid, another tool's run) stay.
    contents = Contents({"old.css": E, "a.css": E})
    after, doomed = manifest.record_deploy(contents, shipped("a.css"), True, NAME)
    assert doomed == []
    assert after.entries == contents.entries
    assert after.profiles["p"] == Record(frozenset({"a.css"}), (frozenset(),), frozenset())


def test_an_unhashed_path_no_longer_shipped_is_doomed_at_once():
    contents, _ = manifest.record_deploy(
        Contents({"a.css": E, "b.css": E}), shipped("a.css", "b.css"), True, NAME
    )
    after, doomed = manifest.record_deploy(contents, shipped("b.css"), True, NAME)
    assert doomed == ["a.css"]
    assert "a.css" not in after.entries  # the same write stops vouching for it
    assert after.profiles["p"].stale == {"a.css"}  # until its delete succeeded


def test_hashed_copies_survive_the_last_keep_deploys():
    contents = Contents()
    doomed_by_deploy = []
    for n in range(1, 5):
        contents, doomed = manifest.record_deploy(
            contents, shipped("site.css", hashed=(f"site.{n}.css",)), True, NAME
        )
        contents = manifest.forget_deleted(contents, "p", doomed)
        doomed_by_deploy.append(doomed)
    assert doomed_by_deploy == [[], [], ["site.1.css"], ["site.2.css"]]
    assert contents.profiles["p"].hashed == (frozenset({"site.4.css"}), frozenset({"site.3.css"}))
    # The same deploy again does not push the history: nothing more goes.
    again, doomed = manifest.record_deploy(
        contents, shipped("site.css", hashed=("site.4.css",)), True, NAME
    )
    assert doomed == [] and again == contents
    # Keeping one deploy only: the previous deploy's copies go now.
    _, doomed = manifest.record_deploy(
        contents, shipped("site.css", hashed=("site.4.css",), keep=1), True, NAME
    )
    assert doomed == ["site.3.css"]


def test_never_doomed_other_profiles_paths_live_pending_paths_or_the_manifest():
    contents = Contents(
        profiles={
            "p": Record(frozenset({"a", "b", "c", NAME, "../up", "d", "e"}), (), frozenset()),
            "other": Record(frozenset({"a"}), (frozenset({"b"}),), frozenset()),
        },
        pending={"c": Pending({"live": time.time()}), "e": Pending({"dead": 0.0})},
    )
    after, doomed = manifest.record_deploy(contents, shipped("x"), True, NAME)
    assert doomed == ["d", "e"]  # a dead run's marker protects nothing
    # Another profile's paths are its own now; a pending one is tried again later.
    assert after.profiles["p"].stale == {"c", "d", "e"}


def test_without_prune_the_record_keeps_stale_paths_and_their_entries():
    contents, _ = manifest.record_deploy(Contents({"a": E}), shipped("a"), False, NAME)
    after, doomed = manifest.record_deploy(contents, shipped("b"), False, NAME)
    assert doomed == [] and after.entries == {"a": E}
    assert after.profiles["p"].stale == {"a"}
    # A later deploy that ships it again takes it back.
    back, doomed = manifest.record_deploy(after, shipped("a"), True, NAME)
    assert back.profiles["p"].stale == {"b"} and doomed == ["b"]


def test_forgetting_a_deleted_path_unvouches_any_write_that_raced_the_delete():
    contents = Contents(
        {"a": E, "b": E},
        {"a": Pending({"r": NOW})},
        {"p": Record(frozenset(), (), frozenset({"a", "c"}))},
    )
    after = manifest.forget_deleted(contents, "p", ["a"])
    assert after.entries == {"b": E}
    assert after.pending == {"a": Pending({"r": NOW}, contended=True)}
    assert after.profiles["p"].stale == {"c"}


def test_format_4_round_trips_and_version_2_and_3_are_still_read():
    profiles = {
        "p": Record(frozenset({"a", "s.1.css"}), (frozenset({"s.1.css"}),), frozenset({"old"}))
    }
    contents = Contents({"a": E}, {}, {}, {"proj": profiles}, "s3://b/static")
    data = manifest.dumps(contents)
    assert json.loads(packed.unpack(data))["version"] == 5
    assert manifest.loads(data) == contents
    # Version 3 kept its records with no project and no location: read as an unknown project's.
    v3 = version_4_doc(manifest.dumps(Contents({"a": E}, {}, profiles)))
    v3["version"] = 3
    assert manifest.loads(json.dumps(v3).encode()) == Contents({"a": E}, {}, profiles)
    v2 = json.dumps({"format": FORMAT, "version": 2, "files": {}}).encode()
    assert manifest.loads(v2) == Contents()
    bad = json.dumps(
        {
            "format": FORMAT,
            "version": 3,
            "files": {},
            "profiles": {"p": {"ships": "a", "hashed": [], "stale": []}},
        }
    ).encode()
    with pytest.raises(ManifestFormatError, match="record of profile 'p'"):
        manifest.loads(bad)


# --- deploys on S3 --------------------------------------------------------------


def project_record(contents: Contents, profile: str) -> Record:
    """The record of ``profile`` of this project (the tests' settings module)."""
    return contents.projects["tests.settings"][profile]


def stale(target) -> frozenset[str]:
    return project_record(manifest.loads(target.read(MANIFEST)), "no-media").stale


def test_s3_prune_after_a_rename_deletes_exactly_the_old_name(
    static_files, s3_storage_settings, s3_client, botocore_calls
):
    target = s3_storage_settings
    src = static_files(ASSETS)
    run("--profile", "full")  # media, shipped by a blind run of another profile
    run("--prune")
    # Objects collectstupid never recorded, inside the location and outside it.
    for key in (target.key("uploads/user.png"), "outside.txt"):
        s3_client.put_object(Bucket=target.bucket, Key=key, Body=b"theirs")
    before = target.keys()

    (src / "css/site.css").rename(src / "css/main.css")
    ops, out = counted(botocore_calls, "--prune", verbosity=2)
    # The manifest read; write-ahead, upload, record; one batch of deletes; forget.
    assert ops == {"GetObject": 1, "PutObject": 4, "DeleteObjects": 1}
    assert target.keys() == before - {target.key("css/site.css")} | {target.key("css/main.css")}
    assert "Pruned 'css/site.css'" in out
    assert "; 1 pruned." in out
    recorded = assert_truthful(target)
    assert "css/site.css" not in recorded and stale(target) == frozenset()

    ops, out = counted(botocore_calls, "--prune")
    assert ops == {"GetObject": 1}  # nothing changed, nothing to prune
    assert "; 0 pruned." in out


@pytest.mark.usefixtures("s3_hashed")
def test_s3_hashed_copies_of_the_last_n_deploys_survive_and_older_ones_go(
    static_files, s3_storage_settings, botocore_calls
):
    target = s3_storage_settings
    src = static_files(HASHED_ASSETS)

    def deploy(n: int, *args: str) -> str:
        (src / "css/base.css").write_text(f"html {{ color: #{n}{n}{n}; }}\n")
        run("--prune", "--profile", "full", *args)
        return json.loads(target.read("staticfiles.json"))["paths"]["css/base.css"]

    first, second = deploy(1), deploy(2)
    assert {first, second} <= target.names()
    third = deploy(3)
    names = target.names()
    assert first not in names and {second, third} <= names
    assert "css/base.css" in names  # the original is shipped by every deploy
    assert_truthful(target)

    # Keeping one deploy: the same files again, and the previous copies go.
    ops, out = counted(botocore_calls, "--prune", "--profile", "full", "--keep-deploys", "1")
    assert ops == {"GetObject": 1, "PutObject": 2, "DeleteObjects": 1}
    assert second not in target.names() and third in target.names()
    assert "Pruned" not in out and "pruned." in out


def test_s3_nothing_is_pruned_after_a_failed_upload(
    static_files, s3_storage_settings_factory, s3_proxy, botocore_calls
):
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    src = static_files(ASSETS)
    run("--prune")
    (src / "css/site.css").rename(src / "css/main.css")
    (src / "js/app.js").write_text("console.log(2)")
    s3_proxy.faults = FaultPlan(deny_prefix=target.key("js/app.js"))
    with pytest.raises(CommandError, match="1 of 3 files failed"):
        counted(botocore_calls, "--prune")
    assert "DeleteObjects" not in botocore_calls.operations
    assert "css/site.css" in target.names()
    assert_truthful(target)

    s3_proxy.faults = None
    ops, _ = counted(botocore_calls, "--prune")
    assert ops == {"GetObject": 1, "PutObject": 4, "DeleteObjects": 1}
    assert "css/site.css" not in target.names()


def test_s3_a_failed_delete_is_named_and_the_next_run_retries_it(
    static_files, s3_storage_settings_factory, s3_proxy, botocore_calls, tmp_path
):
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    src = static_files(ASSETS)
    run("--prune")
    (src / "css/site.css").rename(src / "css/main.css")
    s3_proxy.faults = FaultPlan(
        error_ratio=1, error_statuses=(403,), only_operations={"DeleteObjects"}
    )
    report = tmp_path / "report.json"
    with pytest.raises(
        CommandError,
        match=r"1 stale file could not be pruned:\n"
        r"  css/site\.css: .*AccessDenied",
    ):
        counted(botocore_calls, "--prune", "--report-json", str(report))
    assert botocore_calls.operations["DeleteObjects"] == 1
    assert "css/site.css" in target.names()
    # Still to delete, and no longer vouched for: the object may or may not be there.
    assert stale(target) == {"css/site.css"}
    assert "css/site.css" not in assert_truthful(target)
    data = json.loads(report.read_text())
    assert data["pruned"] == [] and list(data["prune_failed"]) == ["css/site.css"]

    s3_proxy.faults = None
    ops, _ = counted(botocore_calls, "--prune", "--report-json", str(report))
    assert ops == {"GetObject": 1, "DeleteObjects": 1, "PutObject": 1}
    assert "css/site.css" not in target.names() and stale(target) == frozenset()
    assert json.loads(report.read_text())["pruned"] == ["css/site.css"]


def test_s3_dry_run_lists_what_would_be_pruned_and_deletes_nothing(
    static_files, s3_storage_settings, botocore_calls, tmp_path
):
    target = s3_storage_settings
    src = static_files(ASSETS)
    run("--prune")
    (src / "css/site.css").rename(src / "css/main.css")
    before = target.keys()
    report = tmp_path / "dry.json"
    ops, out = counted(botocore_calls, "--prune", "--dry-run", "--report-json", str(report))
    assert ops == {"GetObject": 1}
    assert target.keys() == before
    assert "Would prune 'css/site.css'" in out and "1 stale would be pruned" in out
    assert json.loads(report.read_text())["would_prune"] == ["css/site.css"]


def test_s3_a_path_another_profile_ships_is_never_pruned(
    static_files, s3_storage_settings, botocore_calls
):
    target = s3_storage_settings
    src = static_files(ASSETS)
    run("--prune")
    run("--prune", "--profile", "full")
    site = (src / "css/site.css").read_bytes()
    (src / "css/site.css").unlink()
    ops, out = counted(botocore_calls, "--prune")
    assert "DeleteObjects" not in ops and "; 0 pruned." in out
    assert set(ASSETS) <= target.names()
    assert target.read("css/site.css") == site


# --- other storages and bad input -------------------------------------------------


def test_local_disk_prunes_through_the_generic_backend(static_files, static_root):
    src = static_files(ASSETS)
    run("--prune")
    (static_root / "uploads").mkdir()
    (static_root / "uploads/user.png").write_bytes(b"theirs")
    (src / "js/app.js").rename(src / "js/main.js")
    out = run("--prune", verbosity=2)
    assert "Pruned 'js/app.js'" in out
    assert not (static_root / "js/app.js").exists()
    assert (static_root / "js/main.js").exists() and (static_root / "uploads/user.png").exists()
    written = manifest.loads((static_root / MANIFEST).read_bytes())
    assert project_record(written, "no-media").stale == set()


@pytest.mark.parametrize(
    ("args", "setting", "message"),
    [
        (["--prune", "--no-smart"], None, "--prune .* cannot be combined with --no-smart"),
        (["--prune", "--keep-deploys", "0"], None, "--keep-deploys must be a whole number from 1"),
        (["--prune"], {"KEEP_DEPLOYS": "2"}, r"COLLECTSTUPID\['KEEP_DEPLOYS'\] must be"),
    ],
)
def test_bad_prune_options_are_refused_before_any_request(
    static_files, s3_storage_settings, botocore_calls, settings, args, setting, message
):
    static_files(ASSETS)
    if setting:
        settings.COLLECTSTUPID = setting
    botocore_calls.reset()
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert dict(botocore_calls.operations) == {}


# --- whose records: projects, locations, one-off selections ------------------------


def tree_of(project: str, count: int) -> dict[str, bytes | str]:
    return {f"{project}/css/{n}.css": f"/* {project} {n} */" for n in range(count)} | {
        f"{project}/js/{n}.js": f"// {project} {n}" for n in range(count)
    }


def test_s3_two_projects_sharing_a_location_and_profile_name_never_prune_each_other(
    tmp_path, settings, s3_storage_settings, botocore_calls
):
    target = s3_storage_settings
    trees = {name: tree_of(name, 25) for name in ("alpha", "beta")}
    for name, files in trees.items():
        write_tree(tmp_path / name, files)

    def deploy(name: str) -> str:
        settings.STATICFILES_DIRS = [str(tmp_path / name)]
        settings.COLLECTSTUPID = {"PROJECT": name}
        ops, out = counted(botocore_calls, "--profile", "no-media", "--smart", "--prune")
        assert "DeleteObjects" not in ops
        return out

    for name in ("alpha", "beta", "alpha", "beta"):
        assert "; 0 pruned." in deploy(name)
    assert set(trees["alpha"]) | set(trees["beta"]) <= target.names()
    written = manifest.loads(target.read(MANIFEST))
    assert set(written.projects) == {"alpha", "beta"} and written.profiles == {}
    assert written.projects["alpha"]["no-media"].ships == frozenset(trees["alpha"])
    assert written.location == f"s3://{target.bucket}/{target.location}"

    # A project still prunes its own paths, and only those.
    (tmp_path / "alpha/alpha/css/0.css").unlink()
    settings.STATICFILES_DIRS = [str(tmp_path / "alpha")]
    settings.COLLECTSTUPID = {"PROJECT": "alpha"}
    ops, out = counted(botocore_calls, "--smart", "--prune", verbosity=3)
    assert (
        f"Deploy manifest '{MANIFEST}' of s3://{target.bucket}/static; this deploy is "
        "recorded as profile 'no-media' of project 'alpha'.\n"
    ) in out
    assert ops == {"GetObject": 1, "PutObject": 2, "DeleteObjects": 1}
    assert "Pruned 'alpha/css/0.css'" in out and "; 1 pruned." in out
    assert target.names() >= set(trees["beta"]) and "alpha/css/0.css" not in target.names()


def test_s3_records_of_a_version_3_manifest_are_kept_and_never_pruned_from(
    static_files, settings, s3_storage_settings, botocore_calls
):
    target = s3_storage_settings
    static_files(ASSETS)
    run("--smart")
    # As collectstupid wrote it before records had a project: another project's, perhaps.
    legacy = {"no-media": Record(frozenset({"old/theirs.css", "css/site.css"}), (), frozenset())}
    contents = manifest.loads(target.read(MANIFEST))
    v3 = version_4_doc(manifest.dumps(Contents(contents.entries, {}, legacy)))
    v3["version"] = 3
    target.client.put_object(
        Bucket=target.bucket, Key=target.key(MANIFEST), Body=json.dumps(v3).encode()
    )
    target.client.put_object(Bucket=target.bucket, Key=target.key("old/theirs.css"), Body=b"x")

    ops, _ = counted(botocore_calls, "--prune")
    assert ops == {"GetObject": 1, "PutObject": 1}  # no upload: the entries were trusted
    written = manifest.loads(target.read(MANIFEST))
    assert written.profiles == legacy  # kept as they were, protecting their paths
    assert project_record(written, "no-media").ships == {
        "css/site.css",
        "js/app.js",
        "img/logo.png",
    }
    assert written.location == f"s3://{target.bucket}/{target.location}"

    ops, _ = counted(botocore_calls, "--prune")
    assert ops == {"GetObject": 1} and "old/theirs.css" in target.names()


def test_a_one_off_selection_with_prune_is_refused_before_any_request(
    static_files, s3_storage_settings, botocore_calls
):
    static_files(ASSETS)
    for option in ("--exclude", "--include"):
        botocore_calls.reset()
        with pytest.raises(CommandError, match="--include/--exclude change what this one run"):
            run("--prune", option, "*.css")
        with pytest.raises(CommandError, match="--include/--exclude change what this one run"):
            run("--prune", "--dry-run", option, "*.css")
        assert dict(botocore_calls.operations) == {}


def test_s3_a_one_off_selection_is_not_recorded_so_a_later_prune_keeps_what_it_left_out(
    static_files, s3_storage_settings, botocore_calls
):
    target = s3_storage_settings
    static_files(ASSETS)
    run("--prune")
    before = manifest.loads(target.read(MANIFEST))
    run("--smart", "--exclude", "*.css")
    assert project_record(manifest.loads(target.read(MANIFEST)), "no-media") == (
        project_record(before, "no-media")
    )
    ops, out = counted(botocore_calls, "--prune")
    assert "DeleteObjects" not in ops and "; 0 pruned." in out
    assert "css/site.css" in target.names()


def test_prune_says_why_it_kept_a_path_another_profile_ships(static_files, settings, tmp_path):
    src = static_files({**ASSETS, "css/old.css": "old"})
    target = tmp_path / "target"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(target)},
        },
    }
    run("--profile", "full", "--smart")
    run("--profile", "no-media", "--smart")
    (src / "css/old.css").unlink()
    report = tmp_path / "report.json"
    why = "profile 'full' still ships it"
    for dry in (True, False):
        args = ("--profile", "no-media", "--smart", "--prune", "--report-json", str(report))
        out = run(*args, *(["--dry-run"] if dry else []), verbosity=2)
        verb = "Would not prune" if dry else "Not pruning"
        assert out.count(f"{verb} 'css/old.css': {why}") == 1, out
        assert json.loads(report.read_text())["prune_kept"] == {"css/old.css": why}
    assert (target / "css/old.css").exists()
