"""Hashed file names: collectstupid deploys what collectstatic would, with local post-processing.

The reference for every comparison is Django's own collectstatic writing
into a local storage of the same hashing class: the target must end with
exactly those names and bytes.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.core.management.base import CommandError
from storages.backends.s3 import S3ManifestStaticStorage

from collectstupid import stage
from collectstupid.local import LocalBackend
from collectstupid.storage import StupidStorageMixin
from tests.helpers import counted, run, tree
from tests.storages import FailingMixin

# The S3 deploys here take the path s3_path picks (tests/s3_fixtures.py).
pytestmark = pytest.mark.usefixtures("s3_path")

CSS_MAP = json.dumps(
    {"version": 3, "file": "site.css", "sources": ["site.scss"], "mappings": "AAAA"}
)
JS_MAP = json.dumps({"version": 3, "file": "app.js", "sources": ["app.ts"], "mappings": "AAAA"})

# A small site that exercises every kind of reference Django rewrites.
ASSETS: dict[str, str | bytes] = {
    "css/site.css": (
        '@import "base.css";\n'
        "@import url('../vendor/reset.css');\n"
        'body { background: url("../img/bg.png"); }\n'
        ".logo { background: url(../img/logo.svg#mark); }\n"
        "@font-face { src: url('../fonts/icons.woff2?#iefix') format('woff2'); }\n"
        ".hero { background: url('/static/img/hero.jpg'); }\n"
        ".ext { background: url(https://example.com/x.png); }\n"
        ".data { background: url(data:image/png;base64,AAAA); }\n"
        ".poster { background: url('../media/poster-loop.webm'); }\n"
        "/*# sourceMappingURL=site.css.map */\n"
    ),
    "css/site.css.map": CSS_MAP,
    "css/base.css": "html { color: black; }\n.bg { background: url(../img/bg.png); }\n",
    "vendor/reset.css": "* { margin: 0; }\n",
    "js/app.js": (
        'import { helper } from "./lib/helper.js";\n'
        "import * as util from './lib/util.js';\n"
        'import "./side-effect.js";\n'
        'export { helper } from "./lib/helper.js";\n'
        'const lazy = import("./lazy.js");\n'
        "console.log(helper, util, lazy);\n"
        "//# sourceMappingURL=app.js.map\n"
    ),
    "js/app.js.map": JS_MAP,
    "js/lib/helper.js": "export const helper = 1;\n",
    "js/lib/util.js": "import { helper } from './helper.js';\nexport const util = helper;\n",
    "js/side-effect.js": "window.loaded = true;\n",
    "js/lazy.js": "export default 42;\n",
    "img/bg.png": b"\x89PNG\r\n\x1a\nbg",
    "img/logo.svg": "<svg id='mark'></svg>",
    "img/hero.jpg": b"\xff\xd8\xffhero",
    "fonts/icons.woff2": b"wOF2icons",
    "media/poster-loop.webm": b"\x1aE\xdf\xa3" + b"\x00" * 4096,
    "media/intro.mp4": b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 8192,
    "media/theme.mp3": b"ID3" + b"\x02" * 2048,
}
MEDIA = {"media/poster-loop.webm", "media/intro.mp4", "media/theme.mp3"}


class JSModuleManifestStorage(ManifestStaticFilesStorage):
    support_js_module_import_aggregation = True


class ShortHashMixin:
    """An override that calls super(): staging must keep the class's own MRO."""

    def file_hash(self, name, content=None):
        full = super().file_hash(name, content)
        return full and full[:6]


class ShortHashStorage(ShortHashMixin, JSModuleManifestStorage):
    manifest_name = "assets/manifest.json"


class KeepIntermediateStorage(JSModuleManifestStorage):
    keep_intermediate_files = True


class LaxStorage(JSModuleManifestStorage):
    manifest_strict = False
    max_post_process_passes = 8


class GzipManifestStorage(JSModuleManifestStorage):
    """Writes .gz siblings through path(), outside _save, the way compressing storages do."""

    def post_process(self, *args, **kwargs):
        yield from super().post_process(*args, **kwargs)
        if kwargs.get("dry_run"):
            return
        for name in self.hashed_files.values():
            with open(self.path(name), "rb") as raw, open(self.path(name) + ".gz", "wb") as gz:
                gz.write(gzip.compress(raw.read(), mtime=0))


def use_storage(settings, backend: str, **options) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": backend, "OPTIONS": options},
    }


@pytest.fixture
def reference(settings, tmp_path) -> Callable[[str], dict[str, bytes]]:
    """What collectstatic writes into a fresh local folder with the given storage class."""

    def collect(backend: str) -> dict[str, bytes]:
        saved = settings.STORAGES
        root = tmp_path / f"reference-{backend.rsplit('.', 1)[-1]}"
        use_storage(settings, backend, location=str(root))
        call_command("collectstatic", interactive=False, verbosity=0)
        settings.STORAGES = saved
        return tree(root)

    return collect


@pytest.fixture
def local_target(settings, tmp_path) -> Callable[[str], Path]:
    def use(backend: str) -> Path:
        root = tmp_path / "target"
        use_storage(settings, backend, location=str(root))
        return root

    return use


@pytest.fixture
def staging_dirs(tmp_path, monkeypatch) -> Callable[[], list[Path]]:
    """Make staging folders land in a private temp dir, to see that none is left behind."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return lambda: sorted(temp.iterdir())


def media_keys(files: dict[str, bytes], manifest: dict[str, str]) -> set[str]:
    """Media originals and every stored name made from them."""
    made = {manifest[name] for name in MEDIA}
    return {
        key
        for key in files
        if key in MEDIA or key in made or any(key.startswith(m + ".") for m in made)
    }


@pytest.mark.parametrize(
    "backend",
    [
        "tests.test_hashed.JSModuleManifestStorage",
        "tests.test_hashed.ShortHashStorage",
        "tests.test_hashed.KeepIntermediateStorage",
        "tests.test_hashed.LaxStorage",
        "tests.test_hashed.GzipManifestStorage",
        "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
    ],
)
def test_local_target_matches_collectstatic(
    static_files, reference, local_target, backend, staging_dirs
):
    static_files(ASSETS)
    expected = reference(backend)
    target = local_target(backend)
    run("--profile", "full")
    assert tree(target) == expected
    assert staging_dirs() == []


@pytest.mark.parametrize(
    "backend",
    [
        "tests.test_hashed.JSModuleManifestStorage",
        "tests.test_hashed.KeepIntermediateStorage",
    ],
)
def test_staging_writes_a_file_again_only_with_new_bytes(
    static_files, reference, local_target, backend, monkeypatch
):
    """Django's later passes delete and save every CSS and JS file again; most keep
    their bytes, and staging then keeps the file it has instead of writing it anew."""
    static_files(ASSETS)
    writes: list[tuple[str, bytes]] = []
    real = FileSystemStorage._save

    def save(self, name, content):
        if isinstance(content, ContentFile):
            content.seek(0)
            writes.append((name, content.read()))
        return real(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", save)
    expected = reference(backend)
    theirs = list(writes)
    writes.clear()
    target = local_target(backend)
    run("--profile", "full")
    assert tree(target) == expected
    # collectstatic rewrites some files with the bytes they already hold;
    # here every write brings new bytes, and every final file was written.
    assert len(set(theirs)) < len(theirs)
    assert len(set(writes)) == len(writes)
    assert set(writes) == set(theirs)


def test_reference_project_exercises_every_rewrite(static_files, reference):
    # Guards the test data: if Django stopped rewriting one of these, the
    # equivalence tests would compare less than they claim to.
    static_files(ASSETS)
    files = reference("tests.test_hashed.JSModuleManifestStorage")
    paths = json.loads(files["staticfiles.json"])["paths"]
    site = files[paths["css/site.css"]].decode()
    app = files[paths["js/app.js"]].decode()
    for original in (
        "css/base.css",
        "vendor/reset.css",
        "img/bg.png",
        "img/logo.svg",
        "fonts/icons.woff2",
        "img/hero.jpg",
        "css/site.css.map",
        "media/poster-loop.webm",
    ):
        assert paths[original].rsplit("/", 1)[-1] in site, original
    for original in (
        "js/lib/helper.js",
        "js/lib/util.js",
        "js/side-effect.js",
        "js/lazy.js",
        "js/app.js.map",
    ):
        assert paths[original].rsplit("/", 1)[-1] in app, original
    assert set(paths) == set(ASSETS)


@pytest.mark.parametrize(
    "backend",
    [
        "tests.test_hashed.JSModuleManifestStorage",
        "tests.test_hashed.KeepIntermediateStorage",
        "tests.test_hashed.GzipManifestStorage",
    ],
)
def test_split_deploy_ships_a_complete_manifest_each_time(
    static_files, reference, local_target, backend
):
    static_files(ASSETS)
    expected = reference(backend)
    manifest = json.loads(expected["staticfiles.json"])["paths"]
    media = media_keys(expected, manifest)
    assert len(media) == (9 if "Gzip" in backend else 6)
    target = local_target(backend)

    run("--profile", "no-media")
    assert tree(target) == {k: v for k, v in expected.items() if k not in media}
    run("--profile", "media-only")
    assert tree(target) == expected


def test_media_only_alone_ships_media_and_the_whole_manifest(static_files, reference, local_target):
    backend = "tests.test_hashed.JSModuleManifestStorage"
    static_files(ASSETS)
    expected = reference(backend)
    manifest = json.loads(expected["staticfiles.json"])["paths"]
    target = local_target(backend)
    out = run("--profile", "media-only")
    landed = tree(target)
    assert set(landed) == media_keys(expected, manifest) | {"staticfiles.json"}
    assert landed["staticfiles.json"] == expected["staticfiles.json"]
    assert "3 static files copied to" in out and ", 3 post-processed (7 files, " in out


def test_no_post_process_uploads_originals_only(static_files, local_target):
    static_files(ASSETS)
    target = local_target("tests.test_hashed.JSModuleManifestStorage")
    out = run("--profile", "full", "--no-post-process")
    assert tree(target) == {k: v if isinstance(v, bytes) else v.encode() for k, v in ASSETS.items()}
    assert "post-processed" not in out


def test_summary_counts_post_processed_and_verbosity_two_lists_them(static_files, local_target):
    static_files(ASSETS)
    target = local_target("tests.test_hashed.JSModuleManifestStorage")
    out = run(verbosity=2)
    # 14 selected originals copied and post-processed; with their hashed copies
    # and the manifest, 29 files written.
    shipped = len(ASSETS) - len(MEDIA)
    assert (
        f"{shipped} static files copied to '{target}', {shipped} post-processed "
        f"({2 * shipped + 1} files, " in out
    )
    assert "6 files (" in out and "left out by profile 'no-media'" in out
    assert "Post-processed 'css/site.css' as 'css/site." in out


def test_manifest_is_uploaded_last(static_files, local_target, monkeypatch):
    static_files(ASSETS)
    local_target("tests.test_hashed.JSModuleManifestStorage")
    order = []
    real = LocalBackend.write

    def spy(self, source):
        order.append(source.dest)
        return real(self, source)

    monkeypatch.setattr(LocalBackend, "write", spy)
    run("--threads", "1")
    assert order[-1] == "staticfiles.json"
    assert order.count("staticfiles.json") == 1


def test_hashed_copies_of_large_files_are_links_not_copies(static_files, local_target, monkeypatch):
    src = static_files(ASSETS)
    local_target("tests.test_hashed.JSModuleManifestStorage")
    seen = {}
    real = LocalBackend.write

    def spy(self, source):
        if source.dest.startswith("media/intro."):
            seen[source.dest] = os.path.samefile(
                source.storage.path(source.path), src / "media/intro.mp4"
            )
        return real(self, source)

    monkeypatch.setattr(LocalBackend, "write", spy)
    run("--profile", "media-only")
    assert len(seen) == 2 and all(seen.values()), seen


def test_dry_run_lists_hashed_names_and_writes_nothing(static_files, local_target, staging_dirs):
    static_files(ASSETS)
    target = local_target("tests.test_hashed.JSModuleManifestStorage")
    out = run("--dry-run")
    assert "Would upload 'css/site.css'" in out
    assert "Would upload 'css/site." in out.replace("Would upload 'css/site.css'", "")
    assert "Would upload 'staticfiles.json'" in out
    assert not target.exists()
    assert staging_dirs() == []


def test_missing_reference_fails_before_any_upload(static_files, local_target, staging_dirs):
    static_files({**ASSETS, "css/broken.css": "a { background: url(../img/missing.png); }"})
    target = local_target("tests.test_hashed.JSModuleManifestStorage")
    with pytest.raises(CommandError) as info:
        run()
    assert str(info.value).startswith(
        "Post-processing found 1 reference to missing files, so nothing was uploaded:\n"
        "  css/broken.css, line 1: '../img/missing.png' (img/missing.png is not among "
        "the static files)\n"
    )
    assert not target.exists()
    assert staging_dirs() == []


THIRD_PARTY_CSS = (
    "/* vendor.css */\n"
    "@font-face { src: url('../fonts/gone.woff2') format('woff2'); }\n"
    ".ok { background: url(../img/bg.png); }\n"
    '.icon { background: url("icons/arrow.svg#up"); }\n'
    "/*# sourceMappingURL=vendor.css.map */\n"
)


def test_every_missing_reference_is_reported_in_one_run(static_files, local_target, staging_dirs):
    static_files({**ASSETS, "css/vendor.css": THIRD_PARTY_CSS})
    target = local_target("tests.test_hashed.JSModuleManifestStorage")
    with pytest.raises(CommandError) as info:
        run("-v", "2")
    assert str(info.value) == (
        "Post-processing found 3 references to missing files, so nothing was uploaded:\n"
        "  css/vendor.css, line 2: '../fonts/gone.woff2' (fonts/gone.woff2 is not among "
        "the static files)\n"
        "  css/vendor.css, line 4: 'icons/arrow.svg#up' (css/icons/arrow.svg is not among "
        "the static files)\n"
        "  css/vendor.css, line 5: 'vendor.css.map' (css/vendor.css.map is not among "
        "the static files)\n"
        "Add each missing file, correct the reference, or leave the referring file out of "
        "the static files with --ignore (post-processing covers every file found, whatever "
        "the profile ships)."
    )
    assert not target.exists()
    assert staging_dirs() == []
    # What the message offers works: without the stylesheet, the same files deploy.
    out = run("--ignore", "vendor.css")
    assert "post-processed" in out and target.exists()
    assert not any(name.startswith("css/vendor") for name in tree(target))


def test_staging_is_removed_when_uploads_fail(static_files, settings, tmp_path, staging_dirs):
    static_files(ASSETS)
    use_storage(
        settings,
        "tests.test_hashed.FailingManifestStorage",
        location=str(tmp_path / "target"),
        fail=["js/app.js"],
    )
    with pytest.raises(CommandError, match="1 of 29 files failed to upload") as raised:
        run()
    assert "27 files uploaded; 1 held back until the others land" in str(raised.value)
    assert staging_dirs() == []
    # The manifest waits for every other file: it was not published.
    assert not (tmp_path / "target" / "staticfiles.json").exists()


class FailingManifestStorage(FailingMixin, JSModuleManifestStorage):
    pass


def test_a_separate_manifest_storage_is_refused(static_files, settings, tmp_path):
    static_files(ASSETS)
    use_storage(
        settings,
        "tests.test_hashed.JSModuleManifestStorage",
        location=str(tmp_path / "target"),
        manifest_storage=ManifestStaticFilesStorage(location=str(tmp_path)),
    )
    with pytest.raises(CommandError, match="separate manifest_storage"):
        run()
    assert not (tmp_path / "target").exists()


def test_hashes_names():
    from django.core.files.storage import FileSystemStorage

    assert stage.hashes_names(ManifestStaticFilesStorage(location="/tmp"))
    assert not stage.hashes_names(FileSystemStorage(location="/tmp"))


def test_the_deployed_manifest_is_never_read(static_files, local_target, reference):
    # Django would refuse to create a storage whose manifest it cannot parse:
    # collectstupid never reads it, only replaces it.
    static_files(ASSETS)
    expected = reference("tests.test_hashed.JSModuleManifestStorage")
    target = local_target("tests.test_hashed.JSModuleManifestStorage")
    target.mkdir()
    (target / "staticfiles.json").write_text("not json")
    run("--profile", "full")
    assert tree(target) == expected


def test_smart_mode_skips_unchanged_hashed_files(static_files, local_target, reference):
    src = static_files(ASSETS)
    target = local_target("tests.test_hashed.JSModuleManifestStorage")
    first = run("--smart", "--profile", "full")
    assert f"{len(ASSETS)} static files copied to" in first
    assert f"({2 * len(ASSETS) + 1} files, " in first
    again = run("--smart", "--profile", "full")
    assert "0 static files copied to" in again and "(0 files, " in again
    assert f", {2 * len(ASSETS) + 1} unmodified" in again

    # A changed image changes its hashed name, the CSS that names it, and the manifest.
    (src / "img/bg.png").write_bytes(b"\x89PNG\r\n\x1a\nnew")
    changed = run("--smart", "--profile", "full", verbosity=2)
    uploaded = {line.split("'")[1] for line in changed.splitlines() if line.startswith("Copying '")}
    expected = reference("tests.test_hashed.JSModuleManifestStorage")
    paths = json.loads(expected["staticfiles.json"])["paths"]
    assert uploaded == {
        "img/bg.png",
        paths["img/bg.png"],
        paths["css/base.css"],
        paths["css/site.css"],
        "staticfiles.json",
    }
    landed = tree(target)
    landed.pop(".collectstupid/manifest.json")
    # Old hashed copies stay (collectstatic also never deletes them).
    assert {k: v for k, v in landed.items() if k in expected} == expected


def test_files_without_a_local_path_are_staged_by_copy(tmp_path):
    from django.core.files.base import ContentFile
    from django.core.files.storage import InMemoryStorage

    from collectstupid.collect import SourceFile

    remote = InMemoryStorage()
    remote.save("b.css", ContentFile(b"b { }"))
    staging = stage.StagingFolder(location=str(tmp_path))
    stage._stage_original(SourceFile("a/b.css", remote, "b.css", 5), staging)
    assert (tmp_path / "a/b.css").read_bytes() == b"b { }"
    assert not (tmp_path / "a/b.css").is_symlink()


# --- against the real S3 server, counting every botocore call ----------------


class JSModuleS3Storage(S3ManifestStaticStorage):
    support_js_module_import_aggregation = True


@pytest.fixture
def s3_hashed(s3_storage_settings, settings) -> dict:
    """JSModuleS3Storage on the test bucket, under the location 'static'."""
    config = settings.STORAGES["staticfiles"]
    options = {**config.get("OPTIONS", {}), "location": "static"}
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "tests.test_hashed.JSModuleS3Storage", "OPTIONS": options},
    }
    return options


def bucket(client, name: str) -> dict[str, bytes]:
    """Every object under static/, by path below it."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix="static/"):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=name, Key=item["Key"])["Body"].read()
            found[item["Key"].removeprefix("static/")] = body
    return found


def test_s3_matches_collectstatic_with_one_put_per_object_and_no_reads(
    static_files, reference, s3_hashed, s3_client, s3_bucket, botocore_calls
):
    static_files(ASSETS)
    expected = reference("tests.test_hashed.JSModuleManifestStorage")
    ops, out = counted(botocore_calls, "--profile", "full")
    assert ops == {"PutObject": len(expected)}
    assert bucket(s3_client, s3_bucket) == expected
    assert f"{len(expected)} static files copied" in out
    # Again, now that a staticfiles.json is in the bucket: still not read.
    ops, _ = counted(botocore_calls, "--profile", "full")
    assert ops == {"PutObject": len(expected)}
    assert bucket(s3_client, s3_bucket) == expected


def test_s3_split_deploy(static_files, reference, s3_hashed, s3_client, s3_bucket, botocore_calls):
    static_files(ASSETS)
    expected = reference("tests.test_hashed.JSModuleManifestStorage")
    media = media_keys(expected, json.loads(expected["staticfiles.json"])["paths"])
    ops, _ = counted(botocore_calls, "--profile", "no-media")
    assert ops == {"PutObject": len(expected) - len(media)}
    assert bucket(s3_client, s3_bucket) == {k: v for k, v in expected.items() if k not in media}
    ops, _ = counted(botocore_calls, "--profile", "media-only")
    assert ops == {"PutObject": len(media) + 1}
    assert bucket(s3_client, s3_bucket) == expected


def test_s3_errors_and_no_post_process(
    static_files, s3_hashed, s3_client, s3_bucket, botocore_calls
):
    static_files({**ASSETS, "css/broken.css": "a { background: url(../img/missing.png); }"})
    botocore_calls.reset()
    with pytest.raises(CommandError, match=r"'\.\./img/missing\.png' \(img/missing\.png is not "):
        run()
    assert dict(botocore_calls.operations) == {}

    ops, _ = counted(botocore_calls, "--profile", "full", "--no-post-process")
    assert ops == {"PutObject": len(ASSETS) + 1}
    assert set(bucket(s3_client, s3_bucket)) == {*ASSETS, "css/broken.css"}


def test_s3_smart_mode_skips_unchanged_hashed_files(static_files, s3_hashed, botocore_calls):
    static_files(ASSETS)
    ops, _ = counted(botocore_calls, "--smart", "--profile", "full")
    # Originals, hashed copies, staticfiles.json, and the deploy manifest ahead and after.
    assert ops == {"GetObject": 1, "PutObject": 2 * len(ASSETS) + 1 + 2}
    ops, out = counted(botocore_calls, "--smart", "--profile", "full")
    assert ops == {"GetObject": 1}  # the deploy manifest, read once; nothing written
    assert f", {2 * len(ASSETS) + 1} unmodified" in out


class ServingManifestStorage(StupidStorageMixin, ManifestStaticFilesStorage):
    """The class a project configures once for deploying and for serving."""


def test_a_serving_storage_with_the_mixin_still_reads_its_manifest(static_files, local_target):
    static_files(ASSETS)
    root = local_target("tests.test_hashed.ServingManifestStorage")
    run("--profile", "full")
    serving = ServingManifestStorage(location=str(root))
    assert serving.hashed_files  # read from the staticfiles.json the deploy wrote
    assert serving.url("css/site.css") != "/static/css/site.css"
    assert serving.stored_name("css/site.css").startswith("css/site.")
