"""What a run tells the user: the summary line, the progress bar, the JSON report."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest

from collectstupid import output, report
from collectstupid.outcomes import UPLOADED
from collectstupid.profiles import Plan, Profile
from collectstupid.upload import Pool, upload
from tests.helpers import planned


def test_report_shows_retries():
    profile = Profile(name="full", origin="built-in", description="")
    plan = Plan(profile, files=planned("a"))
    result = upload(planned("a"), lambda source: None, Pool(1))
    result.retries = 1
    summary = report.written_summary(plan, result, "x")
    assert "1 request retried after transient errors" in report.render(summary)
    data = report.report_data(plan, result, "s3://b", dry_run=False)
    assert data["retries"] == 1
    assert data["files"][0] == {
        "destination": "a",
        "bytes": 10,
        "status": UPLOADED,
        "error": None,
        "seconds": data["files"][0]["seconds"],
    }
    assert {"profile", "totals", "seconds", "retries", "files"} <= set(data)


def test_smart_counts_are_said_whatever_the_names_hold():
    # A profile or location holding the word "skipped" once silenced the smart clause.
    profile = Profile(name="skipped-assets", origin="built-in", description="")
    plan = Plan(profile, files=planned("a", "b"))
    result = upload(planned("a", "b"), lambda s: "skipped" if s.dest == "a" else None, Pool(1))
    line = report.render(
        report.written_summary(
            plan, result, "s3://b/skipped", report.Counts(post_processed=3, smart=True)
        )
    )
    assert line.startswith(
        "1 static file copied to 's3://b/skipped', 1 unmodified, 3 post-processed (10 B in "
    )
    assert "nothing left out by profile 'skipped-assets'" in line


def test_summary_keeps_collectstatics_words_then_adds_ours():
    profile = Profile(name="no-media", origin="built-in", description="")
    plan = Plan(profile, files=planned("a", "b"), left_out=planned("c"))
    result = upload(planned("a", "b"), lambda source: None, Pool(1))
    summary = report.written_summary(plan, result, "/srv/static", report.Counts(post_processed=2))
    line = report.render(summary)
    # What collectstatic prints, word for word, up to its closing period.
    assert line.startswith("2 static files copied to '/srv/static', 2 post-processed (20 B in ")
    assert line.endswith("s); 1 file (10 B) left out by profile 'no-media'.")
    linked = report.render(
        replace(summary, action="symlinked", post_processed=0, deleted=3, delete_failed=1)
    )
    assert linked.startswith("2 static files symlinked to '/srv/static' (20 B in ")
    assert linked.endswith("; 3 deleted by --clear, 1 could not be.")


def test_file_lines_use_collectstatics_verbs():
    copied, skipped = upload(
        planned("a", "b"), lambda s: "skipped" if s.dest == "b" else None, Pool(1)
    ).outcomes
    assert report.file_line(copied) == "Copying 'a'"
    assert report.file_line(copied, linked=True) == "Linking 'a'"
    assert report.file_line(skipped) == "Skipping 'b' (not modified)"


def test_a_dry_run_summary_names_reasons_and_what_it_would_skip():
    profile = Profile(name="full", origin="built-in", description="")
    plan = Plan(profile, files=planned("a", "b"), left_out=planned("c"))
    summary = report.dry_run_summary(
        plan, "s3://b", planned("a"), unchanged=1, reasons=(("new", 1),)
    )
    assert report.render(summary) == (
        "1 static file (10 B) would be uploaded to 's3://b' (1 new); 1 unchanged would be "
        "skipped; 1 file (10 B) left out by profile 'full'. Dry run: nothing was written."
    )


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_on_a_terminal_only():
    outcome = upload(planned("a"), lambda source: None, Pool(1)).outcomes[0]
    screen = Terminal()
    bar = output.ProgressBar(10, 1, enabled=True, stream=screen)
    bar.update(outcome.source.size)
    bar.close()
    drawn = screen.getvalue()
    # tqdm redraws at most every 0.1 s: the first frame is what a fast test sees.
    assert "0/1 files, 0.00B of 10.0B (0%) |" in drawn and "B/s" in drawn
    # The file count and the byte share are told apart: no "files:" before a percentage.
    assert "files:" not in drawn
    for stream, enabled in ((io.StringIO(), True), (Terminal(), False)):
        bar = output.ProgressBar(10, 1, enabled=enabled, stream=stream)
        bar.update(outcome.source.size)
        bar.close()
        assert stream.getvalue() == ""


def totals_add_up(data: dict) -> None:
    totals, files = data["totals"], data["files"]
    assert data["schema"] == 2
    assert totals["selected_files"] == len(files)
    assert totals["selected_bytes"] == sum(f["bytes"] for f in files)
    assert totals["found_files"] == totals["selected_files"] + totals["left_out_files"]
    assert totals["left_out_files"] == len(data["left_out"])
    by_status = (
        totals["uploaded_files"]
        + totals["unchanged_files"]
        + totals["failed_files"]
        + totals["cancelled_files"]
        + totals["would_upload_files"]
    )
    assert by_status == totals["selected_files"]


def test_the_json_report_is_one_schema_whose_totals_add_up(static_files, settings, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from tests.helpers import ASSETS, run
    from tests.test_hashed import use_storage

    static_files(ASSETS)
    target = tmp_path / "target"
    use_storage(
        settings,
        "tests.storages.FailingHashedStorage",
        location=str(target),
    )
    path = tmp_path / "report.json"
    run("--smart", "--dry-run", "--report-json", str(path))
    dry = json.loads(path.read_text())
    run("--smart", "--report-json", str(path))
    real = json.loads(path.read_text())
    assert set(dry) == set(real)
    for data in (dry, real):
        totals_add_up(data)
        # staticfiles.json is a selected file like the others, listed and counted.
        assert "staticfiles.json" in {f["destination"] for f in data["files"]}
        # Left-out paths by name: the media and their hashed copies.
        assert {"media/intro.mp4", "media/theme.mp3"} <= set(data["left_out"])
        assert all(name.startswith("media/") for name in data["left_out"])
    assert (dry["exit_status"], dry["error"], real["exit_status"], real["error"]) == (
        0,
        None,
        0,
        None,
    )
    assert dry["totals"]["would_upload_files"] == real["totals"]["uploaded_files"]

    use_storage(
        settings,
        "tests.storages.FailingHashedStorage",
        location=str(target),
        fail=["js/app.js"],
    )
    (tmp_path / "src0/js/app.js").write_text("changed")
    with pytest.raises(CommandError) as raised:
        call_command(
            "collectstupid",
            "--smart",
            "--report-json",
            str(path),
            interactive=False,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    failed = json.loads(path.read_text())
    totals_add_up(failed)
    assert failed["exit_status"] == 1 and failed["error"] == str(raised.value)
    assert failed["totals"]["failed_files"] == 1 and failed["totals"]["cancelled_files"] == 1
