"""After a deploy, the process's staticfiles_storage serves the manifest that was written."""

from __future__ import annotations

import json

import pytest
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage, staticfiles_storage
from django.core.management.base import CommandError
from django.templatetags.static import static
from django.utils.functional import empty

from tests.helpers import counted, run
from tests.storages import FailingMixin
from tests.test_hashed import use_storage

# The S3 deploys here take the path s3_path picks (tests/s3_fixtures.py).
pytestmark = pytest.mark.usefixtures("s3_path")

SITE = {"css/site.css": "body { background: url(../img/bg.png) }", "img/bg.png": b"\x89PNGbg"}


class FailingManifestStorage(FailingMixin, ManifestStaticFilesStorage):
    pass


def deployed(root) -> dict:
    return json.loads((root / "staticfiles.json").read_text())


def test_loaded_storage_gets_the_new_manifest(static_files, settings, tmp_path):
    src = static_files(SITE)
    root = tmp_path / "target"
    use_storage(
        settings,
        "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
        location=str(root),
    )
    run()
    first = static("css/site.css")
    assert first == "/static/" + deployed(root)["paths"]["css/site.css"]

    (src / "css/site.css").write_text("body { color: blue }")
    run()
    manifest = deployed(root)
    assert staticfiles_storage.hashed_files == manifest["paths"]
    assert staticfiles_storage.manifest_hash == manifest["hash"]
    assert static("css/site.css") == "/static/" + manifest["paths"]["css/site.css"] != first
    assert staticfiles_storage.load_manifest() == (manifest["paths"], manifest["hash"])


def test_failed_deploy_leaves_the_loaded_manifest_alone(static_files, settings, tmp_path):
    static_files(SITE)
    root = tmp_path / "target"
    use_storage(
        settings,
        "tests.test_loaded_manifest.FailingManifestStorage",
        location=str(root),
        fail=["img/bg.png"],
    )
    assert staticfiles_storage.hashed_files == {}  # loaded before the deploy
    with pytest.raises(CommandError, match="1 of 5 files failed"):
        run("--threads", "1")
    assert staticfiles_storage.hashed_files == {}
    assert not (root / "staticfiles.json").exists()


def test_unloaded_s3_storage_is_not_loaded_by_the_deploy(
    static_files, s3_storage_settings, settings, botocore_calls
):
    options = settings.STORAGES["staticfiles"]["OPTIONS"]
    use_storage(settings, "storages.backends.s3.S3ManifestStaticStorage", **options)
    static_files(SITE)
    ops, _ = counted(botocore_calls, "--profile", "full")
    # Two originals, two hashed copies, the manifest; no read of the old manifest.
    assert ops == {"PutObject": 5}
    assert staticfiles_storage._wrapped is empty


def test_loaded_s3_storage_is_updated_without_a_request(
    static_files, s3_storage_settings, settings, botocore_calls
):
    options = settings.STORAGES["staticfiles"]["OPTIONS"]
    use_storage(settings, "storages.backends.s3.S3ManifestStaticStorage", **options)
    static_files(SITE)
    assert staticfiles_storage.hashed_files == {}  # loaded now: nothing deployed yet
    ops, _ = counted(botocore_calls, "--profile", "full")
    assert ops == {"PutObject": 5}
    hashed_files = dict(staticfiles_storage.hashed_files)
    assert set(hashed_files) == set(SITE)
    assert staticfiles_storage.load_manifest() == (hashed_files, staticfiles_storage.manifest_hash)
