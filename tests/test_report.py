"""What a run tells the user: the summary line, the progress bar, the JSON report."""

from __future__ import annotations

import io
from dataclasses import replace

from collectstupid import report
from collectstupid.plan import Plan
from collectstupid.profiles import Profile
from collectstupid.upload import UPLOADED, Pool, upload
from tests.helpers import planned


def test_report_shows_retries():
    profile = Profile(name="full", origin="built-in", description="")
    plan = Plan(profile, files=planned("a"))
    result = upload(planned("a"), lambda source: None, Pool(1))
    result.retries = 1
    summary = report.run_summary(plan, result, "x")
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
        report.run_summary(plan, result, "s3://b/skipped", post_processed=3, smart=True)
    )
    assert line.startswith(
        "1 static file copied to 's3://b/skipped', 1 unmodified, 3 post-processed (10 B in "
    )
    assert "nothing left out by profile 'skipped-assets'" in line


def test_summary_keeps_collectstatics_words_then_adds_ours():
    profile = Profile(name="no-media", origin="built-in", description="")
    plan = Plan(profile, files=planned("a", "b"), left_out=planned("c"))
    result = upload(planned("a", "b"), lambda source: None, Pool(1))
    summary = report.run_summary(plan, result, "/srv/static", post_processed=2)
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
    bar = report.ProgressBar(10, 1, enabled=True, stream=screen)
    bar.update(outcome.source.size)
    bar.close()
    drawn = screen.getvalue()
    # tqdm redraws at most every 0.1 s: the first frame is what a fast test sees.
    assert "0/1 files:   0%" in drawn and "0.00/10.0" in drawn and "B/s" in drawn
    for stream, enabled in ((io.StringIO(), True), (Terminal(), False)):
        bar = report.ProgressBar(10, 1, enabled=enabled, stream=stream)
        bar.update(outcome.source.size)
        bar.close()
        assert stream.getvalue() == ""
