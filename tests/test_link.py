"""--link: symlinks on a local storage, as collectstatic makes them; refused on S3."""

from __future__ import annotations

import json
import os

import pytest
from django.core.management.base import CommandError

from tests.helpers import ASSETS, run, tree
from tests.test_hashed import use_storage

# The S3 deploys here take the path s3_path picks (tests/s3_fixtures.py).
pytestmark = pytest.mark.usefixtures("s3_path")

LOCAL = "django.core.files.storage.FileSystemStorage"


def test_link_makes_a_symlink_per_file(static_files, settings, tmp_path):
    src = static_files(ASSETS)
    root = tmp_path / "target"
    use_storage(settings, LOCAL, location=str(root))
    out = run("--link", "--profile", "full")
    assert f"{len(ASSETS)} static files" in out
    for name in ASSETS:
        assert os.path.islink(root / name), name
        assert os.readlink(root / name) == str(src / name)


def test_copies_replace_links_without_writing_through_them(static_files, settings, tmp_path):
    src = static_files(ASSETS)
    root = tmp_path / "target"
    use_storage(settings, LOCAL, location=str(root))
    run("--link", "--profile", "full")
    (src / "css/site.css").write_text("body { color: blue }")

    run("--profile", "full")
    assert not any(os.path.islink(root / name) for name in ASSETS)
    assert (root / "css/site.css").read_text() == "body { color: blue }"
    # The sources are intact: a copy never went through the old link.
    assert (src / "css/site.css").read_text() == "body { color: blue }"
    assert (src / "js/app.js").read_text() == ASSETS["js/app.js"]

    run("--link", "--profile", "full")
    assert all(os.path.islink(root / name) for name in ASSETS)


def test_link_with_hashed_names_copies_what_staging_made(static_files, settings, tmp_path):
    src = static_files(
        {"css/site.css": "body { background: url(../img/bg.png) }", "img/bg.png": b"\x89PNGbg"}
    )
    root = tmp_path / "target"
    use_storage(
        settings,
        "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
        location=str(root),
    )
    run("--link")
    paths = json.loads((root / "staticfiles.json").read_text())["paths"]
    assert os.readlink(root / "img/bg.png") == str(src / "img/bg.png")
    assert os.readlink(root / "css/site.css") == str(src / "css/site.css")
    # Made in the staging folder, which is gone now: real files, not links into it.
    for made in (*paths.values(), "staticfiles.json"):
        assert not os.path.islink(root / made), made
    assert paths["img/bg.png"].rsplit("/", 1)[-1] in (root / paths["css/site.css"]).read_text()
    assert set(tree(root)) == {"css/site.css", "img/bg.png", "staticfiles.json", *paths.values()}


def test_link_to_s3_is_refused_before_anything_is_written(
    static_files, s3_storage_settings, botocore_calls
):
    static_files(ASSETS)
    botocore_calls.reset()
    with pytest.raises(
        CommandError,
        match=r"Can't symlink to a remote destination\. The "
        r"staticfiles storage \(s3://.*\) has no local paths",
    ):
        run("--link")
    assert dict(botocore_calls.operations) == {}
    assert s3_storage_settings.keys() == set()
