"""--prune's bounds: it never deletes more than a bounded share of what the profile's previous
deploy shipped without being told so, and never what a concurrent run of the profile shipped.

Against the real S3 server: two projects with one default name take turns in one process
(every botocore call counted); two runs of one project race as child processes, the race
made deterministic by holding one run's last manifest write at the proxy.
"""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from collectstupid import manifest
from collectstupid.manifest import Contents, Entry, Record, Shipped
from collectstupid.manifest.guard import Guard, decide
from tests.conftest import write_tree
from tests.helpers import MANIFEST, assert_truthful, counted
from tests.processes import deploy_process
from tests.test_docs_output import ROOT, shape

E = Entry("0" * 64, 1)


def assert_quoted_in_docs(line: str) -> None:
    """docs/lifecycle.md quotes ``line``, names and numbers aside (as test_docs_output)."""
    quoted = (ROOT / "docs/lifecycle.md").read_text().splitlines()
    assert shape(line) in {shape(text) for text in quoted}, line


def tree_of(name: str, count: int) -> dict[str, bytes | str]:
    return {f"{name}/css/{n}.css": f"/* {name} {n} */" for n in range(count)} | {
        f"{name}/js/{n}.js": f"// {name} {n}" for n in range(count)
    }


# --- the decision, as a pure function -------------------------------------------


def recorded(*paths: str) -> Contents:
    """A manifest whose profile 'p' of project 'x' last shipped ``paths``."""
    record = Record(frozenset(paths), (frozenset(),), frozenset())
    return Contents({path: E for path in paths}, projects={"x": {"p": record}})


def ships(*paths: str) -> Shipped:
    return Shipped("p", frozenset(paths), frozenset(), 2, "x")


def test_up_to_the_share_is_doomed_and_one_path_more_is_refused():
    before = recorded("a", "b", "c", "d")
    found = before.projects["x"]["p"]
    half = decide(before, ships("c", "d", "e"), MANIFEST, Guard(50, found))
    assert half.doomed == ["a", "b"] and half.refused is None and half.held is None
    more = decide(before, ships("d", "e"), MANIFEST, Guard(50, found))
    assert more.doomed == [] and more.contents == before  # not recorded, nothing unvouched
    assert more.refused is not None and "would delete 3 of the 4 files" in more.refused
    assert decide(before, ships("e"), MANIFEST, Guard(100, found)).doomed == ["a", "b", "c", "d"]


def test_a_record_that_moved_since_the_run_started_dooms_nothing_and_keeps_it_stale():
    found = recorded("a", "b").projects["x"]["p"]
    now = recorded("a", "c")  # another run of the profile recorded its deploy meanwhile
    decision = decide(now, ships("a", "b"), MANIFEST, Guard(100, found))
    assert decision.doomed == [] and decision.refused is None
    assert decision.held is not None and decision.held.startswith("Nothing was pruned")
    record = decision.contents.projects["x"]["p"]
    assert record.ships == {"a", "b"} and record.stale == {"c"}
    assert "c" in decision.contents.entries  # still vouched for: it was not deleted


# --- projects that share a default name ----------------------------------------------


def refusal(project: str, gone: int, shipped: int, share: int) -> str:
    return (
        "--prune stopped before deleting anything: this deploy would delete "
        f"{gone} of the {shipped} files the previous deploy of profile 'no-media' of project "
        f"'{project}' shipped ({share}%), more than the 50% COLLECTSTUPID['PRUNE_MAX_SHARE'] "
        "allows. The likely cause is another project with the same name deploying to this "
        "location: give each project its own COLLECTSTUPID['PROJECT']. If this deploy does "
        "replace that many files, run it again with --prune-max-share 100. Every file "
        "landed; this deploy is not recorded for the profile."
    )


@pytest.mark.parametrize(
    ("urlconf", "project"),
    [("config.urls", "config.urls"), (None, "tests.settings")],
    ids=["same ROOT_URLCONF", "same settings module, no ROOT_URLCONF"],
)
def test_s3_two_projects_with_one_default_name_never_prune_each_other(
    tmp_path, settings, s3_storage_settings, botocore_calls, urlconf, project
):
    target = s3_storage_settings
    if urlconf:
        settings.ROOT_URLCONF = urlconf
    else:
        assert not hasattr(settings, "ROOT_URLCONF")  # the tests' settings module has none
    trees = {name: tree_of(name, 25) for name in ("alpha", "beta")}
    for name, files in trees.items():
        write_tree(tmp_path / name, files)

    def deploy(name: str, *args: str) -> tuple[dict[str, int], str]:
        settings.STATICFILES_DIRS = [str(tmp_path / name)]
        return counted(botocore_calls, "--profile", "no-media", "--smart", "--prune", *args)

    ops, out = deploy("alpha")
    assert "; 0 pruned." in out
    for turn in range(2):
        try:
            deploy("beta")
        except CommandError as exc:
            refused: str | None = str(exc)
        else:
            refused = None
        ops = dict(botocore_calls.operations)
        both = set(trees["alpha"]) | set(trees["beta"])
        assert both - target.names() == set()  # not one of alpha's files deleted
        assert refused == refusal(project, 50, 50, 100)
        # The read; the write-ahead, 50 files, the manifest; then only the read. No delete.
        assert ops == ({"GetObject": 1, "PutObject": 52} if turn == 0 else {"GetObject": 1})
        ops, out = deploy("alpha")
        assert ops == {"GetObject": 1} and "; 0 pruned." in out
        assert set(trees["alpha"]) | set(trees["beta"]) <= target.names()
    recorded = assert_truthful(target)
    assert set(trees["alpha"]) | set(trees["beta"]) <= set(recorded)
    record = manifest.loads(target.read(MANIFEST)).projects[project]["no-media"]
    assert record.ships == frozenset(trees["alpha"])  # the refused deploys left it alone

    # The way out the message names: a project name of its own.
    settings.COLLECTSTUPID = {"PROJECT": "beta"}
    ops, out = deploy("beta")
    assert ops == {"GetObject": 1, "PutObject": 1} and "; 0 pruned." in out
    assert set(trees["alpha"]) | set(trees["beta"]) <= target.names()


def test_s3_a_deploy_that_does_replace_most_files_prunes_when_told_so(
    tmp_path, settings, s3_storage_settings, botocore_calls
):
    target = s3_storage_settings
    old, new = tree_of("old", 3), tree_of("new", 3)
    write_tree(tmp_path / "src", old)
    settings.STATICFILES_DIRS = [str(tmp_path / "src")]
    counted(botocore_calls, "--prune")
    for name in old:
        (tmp_path / "src" / name).unlink()
    write_tree(tmp_path / "src", new)
    # A dry run says the real run would stop, and why.
    ops, out = counted(botocore_calls, "--prune", "--dry-run")
    assert ops == {"GetObject": 1}
    assert "--prune would stop before deleting anything: this deploy would delete 6 of" in out
    with pytest.raises(CommandError, match="would delete 6 of the 6 files"):
        counted(botocore_calls, "--prune")
    assert "DeleteObjects" not in botocore_calls.operations and set(old) <= target.names()

    ops, out = counted(botocore_calls, "--prune", "--prune-max-share", "100")
    assert ops == {"GetObject": 1, "PutObject": 2, "DeleteObjects": 1}
    assert "; 6 pruned." in out
    assert not set(old) & target.names() and set(new) <= target.names()
    assert_truthful(target)


@pytest.mark.parametrize(
    ("args", "setting", "message"),
    [
        (["--prune-max-share", "101"], None, "--prune-max-share must be a whole number from 0"),
        ([], {"PRUNE_MAX_SHARE": "50"}, r"COLLECTSTUPID\['PRUNE_MAX_SHARE'\] must be"),
        ([], {"PRUNE_MAX_SHARE": True}, r"COLLECTSTUPID\['PRUNE_MAX_SHARE'\] must be"),
    ],
)
def test_a_bad_share_is_refused_before_any_request(
    tmp_path, settings, s3_storage_settings, botocore_calls, args, setting, message
):
    write_tree(tmp_path / "src", tree_of("a", 1))
    settings.STATICFILES_DIRS = [str(tmp_path / "src")]
    if setting:
        settings.COLLECTSTUPID = setting
    with pytest.raises(CommandError, match=message):
        counted(botocore_calls, "--prune", *args)
    assert dict(botocore_calls.operations) == {}


# --- two runs of one project at once ------------------------------------------------


def test_s3_concurrent_prune_runs_of_one_project_never_delete_what_the_other_shipped(
    tmp_path, s3_storage_settings_factory, s3_proxy
):
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    common = tree_of("common", 30)
    for round_ in range(3):
        trees = {job: tree_of(f"{job}{round_}", 20) for job in ("a", "b")}
        src = {job: write_tree(tmp_path / f"{job}{round_}", common | trees[job]) for job in trees}
        slow, fast = ("a", "b") if round_ % 2 == 0 else ("b", "a")
        # The slow run's write-ahead goes through; its last manifest write is held
        # until the fast run ended, so it lands on a manifest the fast run moved.
        hold = s3_proxy.hold("PutObject", key=target.key(MANIFEST), skip=1)
        held = deploy_process(target, src[slow], "--prune")
        try:
            hold.wait_held(timeout=60)
            racing = deploy_process(target, src[fast], "--prune")
            _, fast_err = racing.communicate(timeout=120)
        finally:
            hold.release()
        _, slow_err = held.communicate(timeout=120)
        # Not one file either run shipped is gone.
        shipped = set(common) | set(trees["a"]) | set(trees["b"])
        assert (round_, shipped - target.names()) == (round_, set())
        assert (held.returncode, racing.returncode) == (0, 0), slow_err + fast_err
        warning = (
            "Nothing was pruned: another deploy of profile 'full' was recorded while this one "
            "ran, and what it shipped may be the live deploy. This deploy is recorded; the "
            "next --prune run deletes what is stale."
        )
        assert f"{warning}\n" in slow_err
        assert_quoted_in_docs(warning)
        assert "Nothing was pruned" not in fast_err
        assert_truthful(target)


def test_s3_a_file_shipped_unchanged_and_pruned_by_a_concurrent_run_is_named_and_restored(
    tmp_path, s3_storage_settings_factory, s3_proxy
):
    # Only what a run writes is marked in the manifest: a file it ships as it was
    # is not, so the other run's --prune may delete it. That is said, not hidden.
    target = s3_storage_settings_factory(endpoint_url=s3_proxy.endpoint_url)
    common = tree_of("common", 5)
    old = write_tree(tmp_path / "old", common | {"kept.css": "kept"})
    first = deploy_process(target, old, "--prune")
    assert first.wait(timeout=120) == 0, first.communicate()
    slow = write_tree(tmp_path / "slow", common | {"kept.css": "kept", "slow.css": "s"})
    fast = write_tree(tmp_path / "fast", common | {"fast.css": "f"})
    hold = s3_proxy.hold("PutObject", key=target.key(MANIFEST), skip=1)
    held = deploy_process(target, slow, "--prune")
    try:
        hold.wait_held(timeout=60)
        racing = deploy_process(target, fast, "--prune")
        _, fast_err = racing.communicate(timeout=120)
    finally:
        hold.release()
    _, slow_err = held.communicate(timeout=120)
    assert racing.returncode == 0, fast_err
    assert held.returncode == 1 and "kept.css" not in target.names()
    error = (
        "1 file this deploy ships without changing it ('kept.css') was deleted by another "
        "deploy to this location (its --prune or --clear) while this one ran. The deploy "
        "manifest no longer vouches for it: run this deploy again to upload what is "
        "missing."
    )
    assert slow_err.endswith(f"{error}\n"), slow_err
    assert_quoted_in_docs(error)
    assert "kept.css" not in assert_truthful(target)

    again = deploy_process(target, slow, "--prune")
    assert again.wait(timeout=120) == 0, again.communicate()
    assert target.read("kept.css") == b"kept"
