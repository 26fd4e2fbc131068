"""Output the README and the docs quote is output the command prints.

Each quote is listed in ``QUOTES`` with the page it is on. Real runs (local
targets, and S3 for a storage that cannot be used) make the lines they are
compared with; numbers, sizes and quoted names may differ, the words may not.
A summary line in a code block that ``QUOTES`` does not list fails the test,
so no new example goes unchecked.
"""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.helpers import ASSETS
from tests.test_hashed import use_storage

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

QUOTES = [
    (
        "README.md",
        "11 static files copied to 's3://example-static/static' (1.6 KB in 0.3s); "
        "2 files (400.1 KB) left out by profile 'no-media'.",
    ),
    (
        "docs/command.md",
        "11 static files copied to 's3://example-static/static' (1.6 KB in 0.3s); "
        "2 files (400.1 KB) left out by profile 'no-media'.",
    ),
    ("docs/command.md", "Copying 'css/site.css'"),
    ("docs/command.md", "Skipping 'css/site.css' (not modified)"),
    ("docs/command.md", "Post-processed 'css/site.css' as 'css/site.3f2a1c9b4e5d.css'"),
    ("docs/command.md", ", 995 unmodified"),
    ("docs/command.md", ", 20 post-processed"),
    ("docs/command.md", "Dry run: nothing was written."),
    (
        "docs/django-compatibility.md",
        "47 static files copied to '/srv/static', 3 unmodified, 12 post-processed "
        "(59 files, 4.0 KB in 0.1s); nothing left out by profile 'no-media'.",
    ),
    ("docs/django-compatibility.md", "... would be uploaded to ... Dry run: nothing was written."),
    ("docs/django-compatibility.md", "Copying 'css/site.css'"),
    ("docs/lifecycle.md", "Pruned 'css/site.css'"),
    ("docs/lifecycle.md", "Not pruning 'css/old.css': profile 'full' still ships it"),
    (
        "docs/lifecycle.md",
        "--prune stopped before deleting anything: this deploy would delete 50 of the 50 "
        "files the previous deploy of profile 'no-media' of project 'config.urls' shipped "
        "(100%), more than the 50% COLLECTSTUPID['PRUNE_MAX_SHARE'] allows. The likely cause "
        "is another project with the same name deploying to this location: give each "
        "project its own COLLECTSTUPID['PROJECT']. If this deploy does replace that many "
        "files, run it again with --prune-max-share 100. Every file landed; this deploy is "
        "not recorded for the profile.",
    ),
    ("docs/hashed-names.md", "..., 20 post-processed (..."),
    (
        "docs/local-targets.md",
        "1005 static files copied to '/srv/static', 3877 post-processed "
        "(4883 files, 107.3 MB in 1.8s); nothing left out by profile 'full'.",
    ),
    (
        "docs/hashed-names.md",
        "Post-processed 'css/site.css' as 'css/site.3f2a1c9b4e5d.css'",
    ),
    (
        "docs/verify.md",
        "Verified 13 files against 's3://example-static/static' (14 objects listed): 13 match, "
        "0 missing, 0 different, 0 unchecked; 0 extra (under the location, not shipped by "
        "this build).",
    ),
    (
        "docs/verify.md",
        "Verified 13 files against 's3://example-static/static' (14 objects listed): 11 match, "
        "1 missing, 1 different, 0 unchecked; 1 extra (under the location, not shipped by "
        "this build).",
    ),
    ("docs/verify.md", "Extra: 'css/added.css' (not shipped by this build)"),
    (
        "docs/verify.md",
        "--verify: 2 of the 13 files this build ships are missing or different in "
        "'s3://example-static/static':",
    ),
    ("docs/verify.md", "  different  css/site.css  20 bytes, this build's has 19"),
    ("docs/verify.md", "  missing    js/app.js     not in the storage"),
    ("docs/verify.md", "Deploy again to put them back, or find what changed them."),
    (
        "docs/profiles.md",
        "Unknown profile 'no_media'. Did you mean 'no-media'? Known profiles: full, media-only, "
        "no-media.",
    ),
    (
        "docs/hashed-names.md",
        "Post-processing found 3 references to missing files, so nothing was uploaded:",
    ),
    (
        "docs/hashed-names.md",
        "css/vendor.css, line 2: '../fonts/gone.woff2' (fonts/gone.woff2 is not among the "
        "static files)",
    ),
    (
        "docs/hashed-names.md",
        "Add each missing file, correct the reference, or leave the referring file out of "
        "the static files with --ignore (post-processing covers every file found, whatever "
        "the profile ships).",
    ),
    (
        "docs/failures.md",
        "The deploy manifest '.collectstupid/manifest.json' could not be read (NoSuchBucket: "
        "The specified bucket does not exist), so nothing was uploaded. Check the bucket "
        "(Azure: container) name in the storage's settings, or create it: a retry cannot "
        "fix this.",
    ),
]

SUMMARY = re.compile(r"^\d+ static files? ")
SIZE = re.compile(r"\d+(\.\d+)? (B|KB|MB|GB)\b")
NUMBER = re.compile(r"\d+(\.\d+)?")
QUOTED = re.compile(r"'[^']*'")


def shape(text: str) -> str:
    """``text`` with what differs between runs (names, sizes, counts, times) made alike."""
    text = QUOTED.sub("'Q'", text)
    text = SIZE.sub("SIZE", text)
    return NUMBER.sub("N", text)


def said(*args: str, verbosity: int = 2) -> list[str]:
    """Every line a run printed, and its closing error's, whether or not it failed."""
    out, err = StringIO(), StringIO()
    try:
        call_command(
            "collectstupid", *args, interactive=False, verbosity=verbosity, stdout=out, stderr=err
        )
        closing = ""
    except CommandError as exc:
        closing = str(exc)
    return (out.getvalue() + err.getvalue() + closing).splitlines()


@pytest.fixture
def real_lines(static_files, settings, tmp_path, s3_storage_settings_factory) -> list[str]:
    src = static_files(ASSETS)
    lines: list[str] = []
    plain = tmp_path / "plain"
    use_storage(settings, "django.core.files.storage.FileSystemStorage", location=str(plain))
    lines += said("--dry-run")
    lines += said()
    lines += said("--smart", "--clear")
    lines += said("--smart")
    lines += said("--smart", "--profile", "full")
    (src / "js/app.js").unlink()
    lines += said("--smart", "--prune")  # kept: 'full' still ships it
    lines += said("--smart", "--profile", "full", "--prune")  # pruned
    (src / "js/app.js").write_text(str(ASSETS["js/app.js"]))
    # The bound on --prune: every file the last deploy shipped renamed.
    use_storage(settings, "django.core.files.storage.FileSystemStorage", location=str(plain) + "2")
    lines += said("--smart", "--prune")
    for name in ("css/site.css", "js/app.js", "img/logo.png"):
        (src / name).rename(src / f"{name}.new")
    lines += said("--smart", "--prune")
    for name in ("css/site.css", "js/app.js", "img/logo.png"):
        (src / f"{name}.new").rename(src / name)
    hashed = tmp_path / "hashed"
    backend = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    use_storage(settings, backend, location=str(hashed))
    lines += said("--profile", "full")
    (src / "css/site.css").write_text("body { color: blue }")
    lines += said("--smart", "--profile", "full")
    broken = src / "css/vendor.css"
    broken.write_text("/**/\n@font-face { src: url('../fonts/gone.woff2'); }\nb{x: url(x.png)}")
    lines += said("--profile", "full")
    broken.unlink()
    verified = tmp_path / "verified"
    use_storage(settings, "django.core.files.storage.FileSystemStorage", location=str(verified))
    lines += said("--smart", "--profile", "full")
    lines += said("--verify", "--profile", "full")
    (verified / "css/site.css").write_text("body { color: tomato }")  # another size
    (verified / "js/app.js").unlink()
    (verified / "css/added.css").write_text("added")
    lines += said("--verify", "--profile", "full")
    lines += said("--profile", "no_media")
    s3_storage_settings_factory(bucket="t-docs-missing-bucket-never-made")
    lines += said("--smart")
    return lines


def test_every_quoted_line_is_output_the_command_prints(real_lines):
    shapes = [shape(line) for line in real_lines]
    for page, quote in QUOTES:
        assert quote in (ROOT / page).read_text().replace("\n", " ").replace("  ", " ") or (
            quote in (ROOT / page).read_text()
        ), f"{page} no longer quotes {quote!r}"
        pieces = [shape(piece.strip()) for piece in quote.split("...") if piece.strip()]
        assert any(all(piece in line for piece in pieces) for line in shapes), (
            f"{page} quotes {quote!r}, which no run prints"
        )


def test_every_summary_line_in_the_docs_is_checked():
    listed = {quote for _, quote in QUOTES}
    for page in PAGES:
        for line in page.read_text().splitlines():
            line = line.strip()
            if SUMMARY.match(line):
                assert line in listed, f"{page.name}: {line!r} is not checked against output"
