"""The Content-Type a file is stored with: the package's table, the same with or without the
host's ``mime.types``, on every storage; a profile rule still wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from storages.backends.s3 import S3Storage

from collectstupid.media_types import MEDIA_TYPES, chosen, media_type
from tests.helpers import run
from tests.test_object_parameters import profiles

ROOT = Path(__file__).resolve().parent.parent

# The extensions a host's mime.types (or its absence) types differently, and what ships.
EXPECTED = {
    "app.js.map": "application/json",
    "mod.mjs": "text/javascript",
    "lib.cjs": "text/javascript",
    "fonts/brand.woff2": "font/woff2",
    "img/photo.webp": "image/webp",
    "wasm/add.wasm": "application/wasm",
}

# Run in a child, so that its mimetypes has read no file but the ones allowed: each
# writer's Content-Type for each name, and what mimetypes alone would have said.
CHILD = textwrap.dedent(
    """
    import json, mimetypes, sys
    if sys.argv[1] == "empty":
        mimetypes.knownfiles = []  # read by init(): no host file at all
    mimetypes.init()
    import django
    django.setup()
    from google.auth.credentials import AnonymousCredentials
    from storages.backends.azure_storage import AzureStorage
    from storages.backends.gcloud import GoogleCloudStorage
    from storages.backends.s3 import S3Storage
    from collectstupid.azure import writer as azure
    from collectstupid.gcs import writer as gcs
    from collectstupid.s3.parameter_cache import write_parameters

    s3 = S3Storage(bucket_name="b", access_key="k", secret_key="s", region_name="us-east-1")
    blob = AzureStorage(account_name="a", account_key="a2V5", azure_container="c")
    google = GoogleCloudStorage(
        bucket_name="b", project_id="p", credentials=AnonymousCredentials()
    )
    types = {}
    for name in sys.argv[2:]:
        types[name] = {
            "s3": write_parameters(s3, name, None)[0]["ContentType"],
            "azure": azure.properties(blob, name)[0]["content_type"],
            "gcs": gcs.properties(google, name)[1]["content_type"],
            "mimetypes": mimetypes.guess_type(name)[0],
        }
    print(json.dumps({"knownfiles": mimetypes.knownfiles, "types": types}))
    """
)


def child_types(mode: str) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, *EXPECTED],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_same_types_with_and_without_the_hosts_mime_types():
    host, bare = child_types("host"), child_types("empty")
    assert bare["knownfiles"] == []
    writers = {"s3", "azure", "gcs"}
    for name, wanted in EXPECTED.items():
        for types in (host["types"], bare["types"]):
            assert {w: types[name][w] for w in writers} == dict.fromkeys(writers, wanted), name
    # Python alone knows neither source maps nor CommonJS modules, on any host.
    assert bare["types"]["app.js.map"]["mimetypes"] is None
    assert bare["types"]["lib.cjs"]["mimetypes"] is None
    mime_types = Path("/etc/mime.types")
    if mime_types.exists() and "font/woff2" in mime_types.read_text(errors="replace"):
        # The host's file was read in one child only (3.13's own table has woff2 too).
        assert host["types"]["fonts/brand.woff2"]["mimetypes"] == "font/woff2"
        if sys.version_info < (3, 13):
            assert bare["types"]["fonts/brand.woff2"]["mimetypes"] is None


def test_table_lookups():
    assert media_type("static/JS/App.MJS") == "text/javascript"  # by extension, any case
    assert media_type("LICENSE") is None
    assert chosen("LICENSE", "application/octet-stream") == "application/octet-stream"
    # A compressed sibling is typed by mimetypes, which also gives its encoding.
    assert chosen("app.css.gz", "text/css") == "text/css"
    assert all(k == k.lower() and k.startswith(".") for k in MEDIA_TYPES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_table_has_each_type_a_host_may_lack(name):
    assert media_type(name) == EXPECTED[name]


FILES = {name: b"x" for name in EXPECTED} | {"css/site.css": b"a{}", "LICENSE": b"MIT"}
# A profile's rule still wins over the table.
OVERRIDE = """\
    extends: full
    object_parameters:
      - match: "*.map"
        parameters: {ContentType: "application/octet-stream"}
    """


class SavingS3Storage(S3Storage):
    """Does something of its own on each write, so the deploy goes through save()."""

    def _save(self, name, content):
        return super()._save(name, content)


def deployed_types(target) -> dict[str, str]:
    return {name: target.head(name)["ContentType"] for name in FILES}


def expected_types(default: str) -> dict[str, str]:
    return EXPECTED | {
        "app.js.map": "application/octet-stream",
        "css/site.css": "text/css",
        "LICENSE": default,
    }


def test_s3_objects_get_the_tables_types(static_files, s3_storage_settings, settings, tmp_path):
    static_files(FILES)
    profiles(tmp_path, settings, typed=OVERRIDE)
    run("--profile", "typed")
    assert deployed_types(s3_storage_settings) == expected_types("application/octet-stream")


def test_s3_objects_through_save_get_the_tables_types(
    static_files, s3_storage_settings_factory, settings, tmp_path
):
    # A subclass that changes save() is written through it: the table reaches it too.
    static_files(FILES)
    target = s3_storage_settings_factory(backend="tests.test_media_types.SavingS3Storage")
    run()
    assert deployed_types(target) == expected_types("application/octet-stream") | {
        "app.js.map": "application/json"
    }


def test_azure_blobs_get_the_tables_types(static_files, azure_settings, settings, tmp_path):
    static_files(FILES)
    profiles(tmp_path, settings, typed=OVERRIDE)
    run("--profile", "typed")
    assert deployed_types(azure_settings) == expected_types("application/octet-stream")


def test_gcs_blobs_get_the_tables_types(static_files, gcs_settings, settings, tmp_path):
    static_files(FILES)
    profiles(tmp_path, settings, typed=OVERRIDE)
    run("--profile", "typed")
    # Google Cloud Storage types a blob sent without one itself.
    assert deployed_types(gcs_settings) == expected_types("application/octet-stream")
