"""Under GitHub Actions the command appends a job summary section and prints annotations;
elsewhere it prints exactly what it did before."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from collectstupid.github_actions import annotation, escape_data
from tests.cdn_fixtures import CloudFrontTarget, as_documented, doc_blocks
from tests.conftest import write_tree

ROOT = Path(__file__).resolve().parent.parent


def command(*args: str) -> tuple[str, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command(
            "collectstupid", "--profile", "full", *args, interactive=False, stdout=out, stderr=err
        )
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), str(exc)
    return out.getvalue(), err.getvalue(), ""


@pytest.fixture
def actions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return summary


def test_a_run_appends_its_section_and_annotates_its_failure_and_warnings(
    site: Path,
    cloudfront: CloudFrontTarget,
    actions: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings,
):
    command("--smart")
    first = actions.read_text()
    assert first.startswith("### ✅ collectstupid: profile `full`\n\n| Destination | `")
    assert first.count("|---|---|") == 1 and "| | |" not in first
    # Counted as collectstatic counts on local disk: the originals (11 files written).
    assert "| Copied | 5 files (" in first
    assert "| Unmodified | 0 |" in first and "| Post-processed | 5 |" in first
    assert "| Left out | 0 files (0 B) |" in first
    assert (
        f"| Invalidation | 6 paths on CloudFront distribution {cloudfront.distribution} (" in first
    )
    # A warning, an unreachable CDN with a password in its URL: annotated, redacted.
    settings.COLLECTSTUPID = {
        "CDN": {"CLOUDFRONT_DISTRIBUTION_ID": cloudfront.distribution},
        "PROFILES": [str(write_tree(Path(settings.STATIC_ROOT).parent / "p", {"bad.yaml": "["}))],
    }
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", "http://user:s3cret@127.0.0.1:9")
    write_tree(site, {"robots.txt": "User-agent: *\nDisallow: /"})
    out, err, error = command("--smart")
    assert error.startswith("The deploy landed, but invalidating 2 paths")
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert len(annotations) == 2, out
    assert annotations[0].startswith("::error title=collectstupid::The deploy landed, but ")
    assert annotations[1].startswith("::warning title=collectstupid::Not used in this run: ")
    both = actions.read_text()
    assert both.startswith(first)  # appended
    second = both[len(first) :]
    assert "| Unmodified | 8 |" in second, second
    assert second.startswith("### ❌ collectstupid: profile `full`\n")
    failed, warned = second.split("**Failed**\n\n")[1].split("\n\n**Warnings**\n\n")
    # The failure alone under "Failed"; the warning under its own heading.
    assert failed.startswith("- The deploy landed, but invalidating 2 paths"), second
    assert "\n" not in failed.strip() and "files" not in failed.split(":")[0]
    assert warned.startswith("- :warning: Not used in this run: ")
    assert "s3cret" not in out + err + both
    blocks = doc_blocks(ROOT / "docs" / "ci.md")
    shown = next(b for b in blocks if b.startswith("::error title=")).splitlines()
    assert len(shown) == len(annotations)
    for documented, printed in zip(shown, annotations, strict=True):
        head = documented.removesuffix("...")
        assert as_documented(printed, cloudfront.distribution).startswith(head)


def test_the_documented_section_is_what_a_deploy_writes(
    site: Path, cloudfront: CloudFrontTarget, actions: Path, settings
):
    command("--smart", "--prune")
    write_tree(site, {"css/site.css": "body { color: blue }", "js/app.js": "console.log(2)"})
    (site / "img/old.png").unlink()
    before = actions.read_text()
    command("--smart", "--prune")
    written = as_documented(actions.read_text()[len(before) :], cloudfront.distribution)
    written = written.replace(settings.STATIC_ROOT, "s3://example-static/static")
    written = re.sub(r" in \d+\.\ds \|", " in 0.0s |", written)  # the time varies
    assert written.endswith("\n\n")
    assert written[:-1] in doc_blocks(ROOT / "docs" / "ci.md")
    # The README shows the same section for its own profile and bucket.
    readme = written.replace("`full`", "`no-media`").replace("example-static", "my-site-static")
    assert readme[:-1] in doc_blocks(ROOT / "README.md")


def test_a_dry_run_has_its_section_too(site: Path, cloudfront: CloudFrontTarget, actions: Path):
    out, _, error = command("--dry-run")
    assert not error
    text = actions.read_text()
    assert text.startswith("### ✅ collectstupid: profile `full` (dry run)\n")
    assert "| Would copy | 11 files (" in text, text
    assert "::" not in out


def test_outside_github_actions_nothing_changes(
    site: Path, cloudfront: CloudFrontTarget, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", "http://127.0.0.1:9")
    out, err, error = command("--smart")
    assert error and "::" not in out + err
    assert list(tmp_path.glob("*.md")) == []


def test_annotations_are_escaped_as_the_runner_reads_them():
    assert escape_data("50%\r\ndone") == "50%25%0D%0Adone"
    assert annotation("error", "a\nb https://k:secret@host/x") == (
        "::error title=collectstupid::a%0Ab https://***@host/x"
    )


def test_a_run_stopped_before_its_summary_reports_its_error_once(
    site: Path, cloudfront: CloudFrontTarget, actions: Path
):
    out, _, error = command("--profile", "nope")
    assert error.startswith("Unknown profile 'nope'.")
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert annotations == [f"::error title=collectstupid::{error}"]
    text = actions.read_text()
    assert text.startswith("### ❌ collectstupid: stopped\n\n- ") and text.count("###") == 1


def test_a_failed_upload_is_annotated_on_its_file_and_counted_in_words(
    static_files, settings, tmp_path: Path, actions: Path, monkeypatch: pytest.MonkeyPatch
):
    source = static_files({"css/site.css": "a{}", "robots.txt": "User-agent: *"})
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "tests.storages.FailingStorage",
            "OPTIONS": {"location": str(tmp_path / "root"), "fail": ["robots.txt"]},
        },
    }
    out, _, error = command()
    assert error
    where = (source / "robots.txt").relative_to(tmp_path).as_posix()
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert annotations == [
        f"::error file={where},title=collectstupid::1 file failed to upload: "
        "OSError: disk on fire (robots.txt)"
    ]
    text = actions.read_text()
    assert text.startswith("### ❌ collectstupid: profile `full`\n")
    assert "**Failed**\n\n- 1 file failed to upload: OSError: disk on fire (robots.txt)\n" in text
    assert "1 files" not in text
