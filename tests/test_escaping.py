"""File names, keys and server messages on a line: control characters shown escaped, and
no line a CI runner would take for a workflow command the tool did not mean as one.

Real deploys to SeaweedFS in a child process, under ``GITHUB_ACTIONS=true`` with a job
summary file, read as raw bytes so that no carriage return is lost on the way.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError

from collectstupid.output import escape_name, printable
from tests.cdn_fixtures import CloudFrontTarget, doc_blocks
from tests.helpers import MANIFEST, run
from tests.processes import ROOT, command_environ, command_line

# Names that would each start a workflow command if a line carried them as they are.
HOSTILE = {
    "a\n::add-mask::X.css": r"a\n::add-mask::X.css",
    "b\r::stop-commands::x.css": r"b\r::stop-commands::x.css",
    "c\u2028::warning::y.css": r"c\u2028::warning::y.css",
    "d\r::error::z.css": r"d\r::error::z.css",
    "e\x85##[add-mask]nel.css": r"e\x85##\x5badd-mask]nel.css",
}
FIRST = "a\n::add-mask::X.css"
# Not UTF-8, so it fails alone at upload and is listed in the closing error and summary.
FAILING = os.fsdecode(b"g\r| fake | row |\r### HEADING\xff.css")
FAILING_SHOWN = r"g\r| fake | row |\r### HEADING\udcff.css"
# What the runner may read as a line ending: anything the child wrote raw would show here.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
MEANT = ("::error title=collectstupid::", "::warning title=collectstupid::")
DOCS = doc_blocks(ROOT / "docs" / "ci.md")


def deploy(target: Any, src: Path, summary: Path, *args: str) -> tuple[int, str, str]:
    """The command in a child process as on a GitHub runner: exit status, stdout, stderr."""
    options = {k: v for k, v in target.options.items() if k != "client_config"}
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    done = subprocess.run(
        command_line(*args),
        cwd=ROOT,
        env=command_environ("tests.deploy_settings", src, options, env),
        capture_output=True,
        timeout=120,
    )
    out, err = (os.fsdecode(stream) for stream in (done.stdout, done.stderr))
    return done.returncode, out, err


def stray_commands(out: str, err: str) -> list[str]:
    """Lines a runner would read as a workflow command that the tool did not write as
    one: "::" first after blank space (stderr never has one), or "##[" anywhere."""
    lines = [(line, False) for line in err.split("\n")]
    lines += [(line, line.startswith(MEANT)) for line in out.split("\n")]
    return [
        line
        for line, meant in lines
        if (line.lstrip().startswith("::") and not meant) or "##[" in line
    ]


def test_a_name_is_escaped_whole_and_a_message_keeps_its_own_lines():
    names = {raw: escape_name(raw) for raw in HOSTILE}
    text = "2 files failed:\n  " + "\n  ".join(HOSTILE) + "\nRename them."
    shown = printable(text, names)
    listed = [f"  {escaped}" for escaped in HOSTILE.values()]
    assert shown.split("\n") == ["2 files failed:", *listed, "Rename them."]
    # A name the run did not know beforehand: its line break stays, its command does not.
    assert printable("Copying 'x\n  ::add-mask::y'") == "Copying 'x\n  \\x3a:add-mask::y'"
    assert printable("::error::z and ##[add-mask]w") == "\\x3a:error::z and ##\\x5badd-mask]w"
    # Bidirectional overrides reorder what a reader sees ("a\u202egnp.exe" shows as
    # "aexe.png"); other format characters (a joiner inside an emoji) stay as they are.
    assert escape_name("a\u202egnp.exe") == "a\\u202egnp.exe"
    assert printable("x\u2066y\u200fz \U0001f469\u200d\U0001f4bb") == (
        "x\\u2066y\\u200fz \U0001f469\u200d\U0001f4bb"
    )


@pytest.mark.parametrize("verbosity", ["1", "2"])
def test_hostile_names_start_no_command_and_the_job_summary_keeps_its_rows(
    static_files, s3_storage_settings, tmp_path, verbosity
):
    src = static_files({name: name[0] for name in HOSTILE})
    (src / FAILING).write_text("g")
    summary = tmp_path / "summary.md"
    status, out, err = deploy(s3_storage_settings, src, summary, "-v", verbosity)
    assert status == 1, (out, err)
    assert stray_commands(out, err) == []
    assert not RAW_CONTROL.search(out + err)
    # The rest landed, under the names as they are.
    assert s3_storage_settings.names() == {*HOSTILE, MANIFEST}
    copying = {line for line in out.split("\n") if line.startswith("Copying ")}
    if verbosity == "2":
        assert copying == {f"Copying '{shown}'" for shown in HOSTILE.values()}
        assert f"Copying '{HOSTILE[FIRST]}'\n" in DOCS
    else:
        assert copying == set()
    refused = (
        "its name is not valid UTF-8, which storage keys must be, so it is never sent; "
        "rename the file"
    )
    closing = (
        "CommandError: 1 of 6 files failed to upload:\n"
        f"  {FAILING_SHOWN}: {refused}\n"
        "The other files were uploaded; run the command again to retry.\n"
    )
    assert err.endswith(closing)
    assert closing in DOCS
    annotation = (
        f"::error title=collectstupid::1 file failed to upload: {refused} ({FAILING_SHOWN})"
    )
    assert [line for line in out.split("\n") if line.startswith("::")] == [annotation]
    lines = summary.read_text(encoding="utf-8").split("\n")
    headings = [line for line in lines if line.startswith("#")]
    assert headings == ["### ❌ collectstupid: profile `full`"]
    # read_text() ends a line at a carriage return too, as a Markdown renderer does.
    rows = [line.split("|")[1].strip() for line in lines if line.startswith("|")]
    assert rows == ["Destination", "---", "Copied", "Unmodified", "Left out"]
    cells = FAILING_SHOWN.replace("|", "\\|")
    assert lines[lines.index("**Failed**") :] == [
        "**Failed**",
        "",
        f"- 1 file failed to upload: {refused} ({cells})",
        "",
        "",
    ]


@pytest.mark.parametrize("verbosity", ["1", "2"])
def test_files_that_cannot_be_read_are_named_escaped_before_any_upload(
    static_files, s3_storage_settings, tmp_path, verbosity
):
    src = static_files({"ok.css": "ok"})
    for name in (
        "f\n::add-mask::FIFO.css",
        "::error::fifo.css",
        "c\r| fake | row |\r### HEADING.css",
    ):
        os.mkfifo(src / name)
    summary = tmp_path / "summary.md"
    status, out, err = deploy(s3_storage_settings, src, summary, "-v", verbosity)
    assert status == 1, (out, err)
    assert stray_commands(out, err) == []
    assert not RAW_CONTROL.search(out + err)
    listed = sorted(line for line in err.split("\n") if line.startswith("  "))
    assert listed == [
        f"  \\x3a:error::fifo.css ({src}/::error::fifo.css): not a regular file",
        f"  c\\r| fake | row |\\r### HEADING.css ({src}/c\\r| fake | row |\\r### "
        "HEADING.css): not a regular file",
        f"  f\\n::add-mask::FIFO.css ({src}/f\\n::add-mask::FIFO.css): not a regular file",
    ]
    assert err.startswith("CommandError: 3 static files cannot be read, so nothing was uploaded:\n")
    assert s3_storage_settings.names() == set()
    lines = summary.read_text(encoding="utf-8").split("\n")
    headings = [line for line in lines if line.startswith(("#", "|"))]
    assert headings == ["### ❌ collectstupid: stopped"]
    assert len(lines) == 5 and lines[3:] == ["", ""]
    assert lines[2].startswith("- 3 static files cannot be read, so nothing was uploaded: ")
    assert "c\\r\\| fake \\| row \\|\\r### HEADING.css (" in lines[2]
    # One annotation: the message's own line breaks escaped for the runner, the names' shown.
    [annotation] = [line for line in out.split("\n") if line.startswith("::")]
    assert annotation.startswith(
        "::error title=collectstupid::3 static files cannot be read, so nothing was uploaded:%0A"
    )
    assert "%0A  f\\n::add-mask::FIFO.css (" in annotation


def test_a_dangling_symlink_is_named_with_what_to_do(static_files, s3_storage_settings, tmp_path):
    src = static_files({"ok.css": "ok"})
    missing = tmp_path / "gone.css"
    (src / "h\n::add-mask::link.css").symlink_to(missing)
    status, out, err = deploy(s3_storage_settings, src, tmp_path / "summary.md")
    assert status == 1, (out, err)
    assert err == (
        "CommandError: 1 static file cannot be read, so nothing was uploaded:\n"
        f"  h\\n::add-mask::link.css ({src}/h\\n::add-mask::link.css): a symbolic link "
        f"to '{missing}', which does not exist\n"
        "Fix them (a file's permissions, a link's target) or remove them, then run again.\n"
    )
    assert s3_storage_settings.names() == set()


def test_a_missing_distribution_is_named_in_one_sentence(
    site: Path, cloudfront: CloudFrontTarget, settings
):
    settings.COLLECTSTUPID = {"CDN": {"CLOUDFRONT_DISTRIBUTION_ID": "E0MISSING0000"}}
    with pytest.raises(CommandError) as failed:
        run("--smart", "--profile", "full")
    assert str(failed.value) == (
        "The deploy landed, but invalidating 6 paths on CloudFront distribution "
        "E0MISSING0000 failed: NoSuchDistribution: The specified distribution does not "
        "exist. Check COLLECTSTUPID['CDN']['CLOUDFRONT_DISTRIBUTION_ID']. They are recorded "
        "in the deploy manifest: the next run sends them."
    )
