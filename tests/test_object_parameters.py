"""Object parameters by pattern: profile rules, checked at load and read back from S3.

Headers are read with HeadObject in the tests; the deploy itself never reads
an object, which the call counts show.
"""

from __future__ import annotations

import json
import mimetypes
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from s3transfer.manager import TransferManager
from storages.backends.s3 import S3Storage

from collectstupid import manifest
from collectstupid.errors import ProfileError
from collectstupid.object_parameters import PARAMETERS, digest
from collectstupid.profiles import load_profiles
from tests.helpers import (
    MANIFEST,
    SMALL_PARTS,
    assert_truthful,
    bucket_parameters,
    counted,
    run,
    run_split,
)

# The S3 deploys here take the path s3_path picks (tests/s3_fixtures.py).
pytestmark = pytest.mark.usefixtures("s3_path")

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60"

SITE: dict[str, str | bytes] = {
    "css/site.css": "body { background: url('../img/bg.png') }",
    "css/print.css": "body { color: black }",
    "js/app.js": "console.log(1)",
    # Looks hashed, but is found as is: an original, never taken for a hashed copy.
    "js/jquery.3.7.1.min.js": "/*! jQuery */",
    "img/bg.png": b"\x89PNG fake",
    "robots.txt": "User-agent: *",
}
# SITE with many files of one kind, as a site has: past the first few of a kind, the
# default path sends them from replayed requests, so the rules are seen to reach those.
LARGE_SITE: dict[str, str | bytes] = {
    **SITE,
    **{f"img/icons/i{i:02}.svg": f"<svg id='i{i}'/>" for i in range(30)},
}


def profiles(tmp_path: Path, settings: Any, **files: str) -> Path:
    """Write profile files (name -> YAML) and make them the project's profiles."""
    folder = tmp_path / "profiles"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text))
    settings.COLLECTSTUPID = {"PROFILES": [str(folder)]}
    return folder


# --- rules as a profile states them -----------------------------------------------


def test_rule_parameters_are_those_save_accepts():
    # A rule may only set what s3transfer (and so storage.save()) passes on.
    assert set(PARAMETERS) <= set(TransferManager.ALLOWED_UPLOAD_ARGS)
    assert not any(name.startswith(("Checksum", "SSECustomer")) for name in PARAMETERS)


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            "object_parameters:\n  - parameters: {CacheContol: no-cache}\n",
            "rule 1: unknown object parameter 'CacheContol'. Did you mean 'CacheControl'?",
        ),
        (
            "object_parameters:\n  - parameters: {CacheControl: 300}\n",
            "rule 1: 'CacheControl' must be a string (quote it in YAML), not int 300",
        ),
        (
            "object_parameters:\n  - parameters: {Metadata: {version: 2}}\n",
            "'Metadata' must be a mapping of strings to strings",
        ),
        (
            "object_parameters:\n  - match: '*.css'\n",
            "rule 1: 'parameters' must be a mapping of S3 object parameters",
        ),
        (
            "object_parameters:\n  - parameters: {ACL: private}\n    matches: '*.css'\n",
            "rule 1 has unknown key(s): matches",
        ),
        (
            "object_parameters:\n  - parameters: {ACL: private}\n"
            "  - match: '[z-a]'\n    parameters: {ACL: private}\n",
            "rule 2: 'match' has an invalid pattern",
        ),
        (
            "object_parameters:\n  - hashed: yes please\n    parameters: {ACL: private}\n",
            "rule 1: 'hashed' must be true or false",
        ),
        ("object_parameters:\n  CacheControl: no-cache\n", "'object_parameters' must be a list"),
        # Values as HTTP header values: checked here, not answered 400 by the server.
        (
            'object_parameters:\n  - parameters: {CacheControl: "no-cache\\0"}\n',
            "rule 1: 'CacheControl' value 'no-cache\\x00' holds a control character "
            "(a header is one line)",
        ),
        (
            'object_parameters:\n  - parameters: {ContentLanguage: "en\\r\\nX-Evil: 1"}\n',
            "rule 1: 'ContentLanguage' value 'en\\r\\nX-Evil: 1' holds a control character",
        ),
        (
            "object_parameters:\n  - parameters: {Metadata: {build id: '7'}}\n",
            "rule 1: 'Metadata' key 'build id' is not a valid header name: use letters, "
            "digits and -_.!#$%&'*+^`|~ only (no spaces)",
        ),
        (
            'object_parameters:\n  - parameters: {Metadata: {team: "web\\n"}}\n',
            "rule 1: 'Metadata' value 'web\\n' (key 'team') holds a control character",
        ),
        (
            "object_parameters:\n  - parameters: {ContentDisposition: 'inline; filename=é.pdf'}\n",
            "rule 1: 'ContentDisposition' value 'inline; filename=é.pdf' holds a character "
            "outside ASCII, which a header cannot carry",
        ),
        (
            "object_parameters:\n  - parameters: {Expires: not a date}\n",
            "rule 1: 'Expires' value 'not a date' is not a date: write one such as "
            '"2030-01-01T00:00:00Z" or "Tue, 01 Jan 2030 00:00:00 GMT"',
        ),
        (
            "object_parameters:\n  - parameters: {ObjectLockRetainUntilDate: '2030-13-01'}\n",
            "rule 1: 'ObjectLockRetainUntilDate' value '2030-13-01' is not a date",
        ),
    ],
)
def test_bad_rules_name_the_file_and_the_rule(tmp_path, settings, rules, expected):
    folder = profiles(tmp_path, settings, cdn=f"extends: full\n{rules}")
    with pytest.raises(ProfileError) as caught:
        load_profiles([folder])
    assert f"Profile file {folder / 'cdn.yaml'}" in str(caught.value)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    "value",
    ['"2030-01-01T00:00:00Z"', '"2030-01-01"', '"Tue, 01 Jan 2030 00:00:00 GMT"'],
)
def test_dates_are_taken_as_iso_8601_or_http_dates(tmp_path, settings, value):
    folder = profiles(
        tmp_path, settings, cdn=f"object_parameters:\n  - parameters: {{Expires: {value}}}\n"
    )
    rules = load_profiles([folder])["cdn"].object_parameters
    assert rules.parameters("a.css") == {"Expires": value.strip('"')}


def test_rules_are_inherited_and_later_rules_win_per_parameter(tmp_path, settings):
    folder = profiles(
        tmp_path,
        settings,
        base="""\
            extends: full
            object_parameters:
              - parameters: {CacheControl: "no-cache", ContentLanguage: en}
              - match: "*.css"
                parameters: {CacheControl: "max-age=600"}
            """,
        child="""\
            extends: base
            object_parameters:
              - match: ["css/print.css"]
                parameters: {CacheControl: "max-age=5"}
            """,
        media="complement_of: base\n",
    )
    found = load_profiles([folder])
    child = found["child"].object_parameters
    assert child.parameters("js/app.js") == {"CacheControl": "no-cache", "ContentLanguage": "en"}
    assert child.parameters("css/site.css") == {
        "CacheControl": "max-age=600",
        "ContentLanguage": "en",
    }
    assert child.parameters("css/print.css") == {
        "CacheControl": "max-age=5",
        "ContentLanguage": "en",
    }
    assert (
        found["base"].object_parameters.parameters("css/print.css")["CacheControl"] == "max-age=600"
    )
    # A complement takes its parent's selection, not its headers.
    assert not found["media"].object_parameters


def test_a_manifest_is_reached_only_by_a_rule_that_names_it(tmp_path, settings):
    folder = profiles(
        tmp_path,
        settings,
        cdn="""\
            object_parameters:
              - parameters: {CacheControl: "public, max-age=31536000"}
              - match: "/staticfiles.json"
                parameters: {ContentLanguage: en}
            """,
    )
    rules = load_profiles([folder])["cdn"].object_parameters
    assert rules.parameters("staticfiles.json") == {
        "CacheControl": "public, max-age=31536000",
        "ContentLanguage": "en",
    }
    assert rules.parameters("staticfiles.json", manifest=True) == {"ContentLanguage": "en"}


def test_a_bad_rule_is_a_deploy_check_error(tmp_path, settings):
    profiles(tmp_path, settings, cdn="object_parameters:\n  - parameters: {Expires: 2030-01-01}\n")
    from collectstupid.checks import check_settings

    errors = check_settings()
    assert [e.id for e in errors] == ["collectstupid.E002"]
    assert "cdn.yaml" in errors[0].msg and "'Expires' must be a string" in errors[0].msg


def test_parameter_digest_ignores_order_and_sees_every_value():
    one = digest({"CacheControl": "no-cache", "Metadata": {"a": "1", "b": "2"}})
    assert one == digest({"Metadata": {"b": "2", "a": "1"}, "CacheControl": "no-cache"})
    assert one != digest({"CacheControl": "no-cache", "Metadata": {"a": "1", "b": "3"}})
    assert len(one) == 16


# --- against the real S3 server -----------------------------------------------------


CDN = """\
    extends: full
    object_parameters:
      - parameters: {CacheControl: "public, max-age=60"}
      - match: "*.css"
        parameters:
          CacheControl: "public, max-age=600"
          Metadata: {team: web}
      - match: "robots.txt"
        parameters: {ContentType: "text/plain; charset=utf-8", ContentDisposition: inline}
    """


def test_s3_rules_by_pattern_over_the_storages_own_parameters(
    tmp_path, settings, static_files, s3_storage_settings_factory, botocore_calls
):
    static_files(LARGE_SITE)
    profiles(tmp_path, settings, cdn=CDN)
    target = s3_storage_settings_factory(
        object_parameters={"CacheControl": "max-age=1", "ContentLanguage": "de"}
    )
    ops, out = counted(botocore_calls, "--profile", "cdn")
    assert ops == {"PutObject": len(LARGE_SITE)}, out
    css = target.head("css/site.css")
    assert css["CacheControl"] == "public, max-age=600"
    assert css["Metadata"] == {"team": "web"}
    assert css["ContentType"] == "text/css"
    # The storage's own parameters stay where no rule sets the same name.
    assert css["ContentLanguage"] == "de"
    js = target.head("js/app.js")
    assert (js["CacheControl"], js["ContentType"], js["Metadata"]) == (
        "public, max-age=60",
        mimetypes.guess_type("js/app.js")[0],
        {},
    )
    robots = target.head("robots.txt")
    assert robots["ContentType"] == "text/plain; charset=utf-8"
    assert robots["ContentDisposition"] == "inline"
    assert robots["CacheControl"] == "public, max-age=60"
    for name in LARGE_SITE.keys() - SITE.keys():
        icon = target.head(name)
        assert (icon["CacheControl"], icon["ContentLanguage"]) == ("public, max-age=60", "de")
        assert icon["ContentType"] == "image/svg+xml"


def test_s3_without_rules_objects_stay_as_save_writes_them(
    static_files, s3_storage_settings_factory, botocore_calls
):
    static_files(LARGE_SITE)
    target = s3_storage_settings_factory(object_parameters={"CacheControl": "max-age=1"})
    ops, _ = counted(botocore_calls, "--profile", "full")
    assert ops == {"PutObject": len(LARGE_SITE)}
    for name in LARGE_SITE:
        assert target.head(name)["CacheControl"] == "max-age=1"
        assert target.head(name)["Metadata"] == {}


def test_s3_rules_reach_a_multipart_upload(
    tmp_path, settings, static_files, s3_storage_settings_factory, botocore_calls
):
    static_files({"media/film.mp4": b"\x01" * (6 * 1024 * 1024)})
    profiles(tmp_path, settings, cdn=CDN)
    target = s3_storage_settings_factory(transfer_config=SMALL_PARTS)
    ops, _ = counted(botocore_calls, "--profile", "cdn")
    assert ops == {"CreateMultipartUpload": 1, "UploadPart": 2, "CompleteMultipartUpload": 1}
    head = target.head("media/film.mp4")
    assert (head["CacheControl"], head["ContentLength"]) == ("public, max-age=60", 6 * 1024 * 1024)


HASHED = """\
    extends: full
    object_parameters:
      - parameters: {CacheControl: "public, max-age=31536000"}
      - hashed: false
        parameters: {CacheControl: "no-cache"}
      - hashed: true
        parameters: {CacheControl: "public, max-age=31536000, immutable"}
    """


def test_s3_hashed_copies_originals_and_staticfiles_json(
    tmp_path, settings, static_files, s3_storage_settings_factory, botocore_calls
):
    static_files(LARGE_SITE)
    profiles(tmp_path, settings, cdn=HASHED)
    target = s3_storage_settings_factory(backend="storages.backends.s3.S3ManifestStaticStorage")
    ops, out = counted(botocore_calls, "--profile", "cdn")
    paths = json.loads(target.read("staticfiles.json"))["paths"]
    assert ops == {"PutObject": 2 * len(LARGE_SITE) + 1}, out
    for original, hashed in paths.items():
        assert hashed != original
        assert target.head(hashed)["CacheControl"] == IMMUTABLE, hashed
        assert target.head(original)["CacheControl"] == "no-cache", original
    # Every object is an original, a hashed copy, or the manifest: nothing left unchecked.
    assert target.names() == set(paths) | set(paths.values()) | {"staticfiles.json"}
    # The first rule matches every name, but no rule names the manifest: it keeps
    # the storage's parameters, so no CDN holds on to an old list of copies.
    assert "CacheControl" not in target.head("staticfiles.json")


def test_s3_a_child_profile_inherits_rules_and_may_name_staticfiles_json(
    tmp_path, settings, static_files, s3_storage_settings_factory, botocore_calls
):
    static_files(SITE)
    profiles(
        tmp_path,
        settings,
        cdn=HASHED,
        child="""\
            extends: cdn
            object_parameters:
              - match: staticfiles.json
                parameters: {CacheControl: "max-age=30"}
              - match: "*.css"
                hashed: false
                parameters: {CacheControl: "max-age=5"}
            """,
    )
    target = s3_storage_settings_factory(backend="storages.backends.s3.S3ManifestStaticStorage")
    ops, _ = counted(botocore_calls, "--profile", "child")
    assert ops == {"PutObject": 2 * len(SITE) + 1}
    paths = json.loads(target.read("staticfiles.json"))["paths"]
    assert target.head("staticfiles.json")["CacheControl"] == "max-age=30"
    assert target.head("css/site.css")["CacheControl"] == "max-age=5"
    assert target.head(paths["css/site.css"])["CacheControl"] == IMMUTABLE
    assert target.head("js/app.js")["CacheControl"] == "no-cache"
    assert target.head(paths["js/app.js"])["CacheControl"] == IMMUTABLE


def test_s3_smart_reuploads_exactly_the_files_whose_parameters_changed(
    tmp_path, settings, static_files, s3_storage_settings_factory, botocore_calls
):
    static_files(LARGE_SITE)
    folder = profiles(tmp_path, settings, cdn=CDN)
    target = s3_storage_settings_factory()
    ops, _ = counted(botocore_calls, "--profile", "cdn", "--smart")
    assert ops == {"GetObject": 1, "PutObject": len(LARGE_SITE) + 2}
    before = bucket_parameters(target)
    assert all(before[name] for name in LARGE_SITE)

    ops, _ = counted(botocore_calls, "--profile", "cdn", "--smart")
    assert ops == {"GetObject": 1}

    (folder / "cdn.yaml").write_text(textwrap.dedent(CDN).replace("max-age=600", "max-age=900"))
    ops, out = counted(botocore_calls, "--profile", "cdn", "--smart", "--dry-run", "-v", "2")
    assert ops == {"GetObject": 1}
    assert "Would upload 'css/site.css' (new parameters," in out
    assert "(2 new parameters)" in out
    ops, out = counted(botocore_calls, "--profile", "cdn", "--smart")
    assert ops == {"GetObject": 1, "PutObject": 2 + 2}, out
    assert "2 static files copied" in out and f", {len(LARGE_SITE) - 2} unmodified" in out
    assert target.head("css/site.css")["CacheControl"] == "public, max-age=900"
    assert target.head("css/print.css")["CacheControl"] == "public, max-age=900"
    after = bucket_parameters(target)
    changed = {name for name in LARGE_SITE if after[name] != before[name]}
    assert changed == {"css/site.css", "css/print.css"}
    assert_truthful(target)

    ops, _ = counted(botocore_calls, "--profile", "cdn", "--smart")
    assert ops == {"GetObject": 1}


def test_s3_smart_sees_a_change_of_the_storages_own_parameters(
    static_files, s3_storage_settings_factory, botocore_calls
):
    static_files(LARGE_SITE)
    s3_storage_settings_factory(object_parameters={"CacheControl": "max-age=1"})
    run("--profile", "full", "--smart")
    target = s3_storage_settings_factory(object_parameters={"CacheControl": "max-age=2"})
    ops, _ = counted(botocore_calls, "--profile", "full", "--smart")
    assert ops == {"GetObject": 1, "PutObject": len(LARGE_SITE) + 2}
    assert target.head("js/app.js")["CacheControl"] == "max-age=2"


def test_s3_smart_entries_without_a_parameter_hash_upload_once(
    static_files, s3_storage_settings, botocore_calls
):
    static_files(LARGE_SITE)
    run("--profile", "full", "--smart")
    # The manifest an earlier release wrote: content hashes only.
    contents = manifest.loads(s3_storage_settings.read(MANIFEST))
    old = {p: manifest.Entry(e.sha256, e.size) for p, e in contents.entries.items()}
    s3_storage_settings.client.put_object(
        Bucket=s3_storage_settings.bucket,
        Key=s3_storage_settings.key(MANIFEST),
        Body=manifest.dumps(manifest.Contents(old, profiles=contents.profiles)),
    )
    ops, _ = counted(botocore_calls, "--profile", "full", "--smart")
    assert ops == {"GetObject": 1, "PutObject": len(LARGE_SITE) + 2}
    assert all(bucket_parameters(s3_storage_settings).values())
    ops, _ = counted(botocore_calls, "--profile", "full", "--smart")
    assert ops == {"GetObject": 1}


def test_s3_bad_rule_is_refused_before_any_request(
    tmp_path, settings, static_files, s3_storage_settings, botocore_calls
):
    static_files(SITE)
    profiles(tmp_path, settings, cdn="object_parameters:\n  - parameters: {CacheControl: [1]}\n")
    with pytest.raises(CommandError, match="'CacheControl' must be a string"):
        counted(botocore_calls, "--profile", "cdn")
    assert botocore_calls.operations == {}
    assert s3_storage_settings.names() == set()


def test_s3_non_ascii_metadata_is_refused_before_any_request(
    tmp_path, settings, static_files, s3_storage_settings, botocore_calls
):
    # S3 sends metadata as x-amz-meta-* headers: ASCII only (GCS takes it).
    static_files(SITE)
    folder = profiles(
        tmp_path,
        settings,
        cdn="extends: full\nobject_parameters:\n  - match: '*.css'\n"
        "    parameters: {Metadata: {owner: Zoë}}\n",
    )
    with pytest.raises(CommandError) as caught:
        counted(botocore_calls, "--profile", "cdn", "--smart")
    assert str(caught.value) == (
        f"Profile 'cdn' ({folder / 'cdn.yaml'}) sets object parameters the storage cannot "
        f"take:\n  'object_parameters' rule 1 in {folder / 'cdn.yaml'}: 'Metadata' value "
        "'Zoë' (key 'owner') holds a character outside ASCII, which S3 cannot carry in "
        "metadata (percent-encode it).\nMove them to a profile used only with storages "
        "that take them, or set them in the storage itself. Nothing was written."
    )
    assert botocore_calls.operations == {}
    assert s3_storage_settings.names() == set()


def test_s3_a_value_the_server_refuses_blames_the_profile(
    tmp_path, settings, static_files, s3_storage_settings, botocore_calls
):
    static_files(SITE)
    profiles(
        tmp_path,
        settings,
        cdn="extends: full\nobject_parameters:\n  - match: '*.css'\n"
        "    parameters: {StorageClass: COLDEST, CacheControl: no-cache}\n",
    )
    with pytest.raises(CommandError) as caught:
        counted(botocore_calls, "--profile", "cdn")
    message = str(caught.value)
    lines = message.splitlines()
    refused = "InvalidStorageClass: The storage class you specified is not valid"
    assert lines[0] == "2 of 6 files failed to upload:"
    # The two failures come in the order they happened.
    assert sorted(lines[1:3]) == [f"  css/print.css: {refused}", f"  css/site.css: {refused}"]
    assert lines[3:] == [
        "These files are sent with object parameters from the profile (CacheControl, "
        "StorageClass): check the values its 'object_parameters' rules give them; a retry "
        "cannot fix this.",
        "The other files were uploaded.",
    ]
    assert "bucket name, region" not in message and "retry cannot fix" in message
    assert botocore_calls.operations == {"PutObject": 6}
    assert s3_storage_settings.names() == set(SITE) - {"css/site.css", "css/print.css"}


# --- storages that cannot take them ---------------------------------------------


class OwnSaveS3Storage(S3Storage):
    """Saves in a way of its own, so it is written through save(), which takes no rules."""

    def _save(self, name: str, content: Any) -> str:
        return super()._save(name, content)


def test_local_target_refuses_rules_before_writing(tmp_path, settings, static_files):
    static_files(SITE)
    profiles(tmp_path, settings, cdn=CDN)
    settings.STATIC_ROOT = str(tmp_path / "root")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with pytest.raises(CommandError) as caught:
        run("--profile", "cdn")
    text = str(caught.value)
    assert (
        "Profile 'cdn'" in text
        and "(CacheControl, ContentDisposition, ContentType, Metadata)" in text
    )
    assert "StaticFilesStorage has no way to take them" in text
    assert not (tmp_path / "root").exists()


def test_s3_subclass_with_its_own_save_refuses_rules(
    tmp_path, settings, static_files, s3_storage_settings_factory, botocore_calls
):
    static_files(SITE)
    profiles(tmp_path, settings, cdn=CDN)
    s3_storage_settings_factory(backend="tests.test_object_parameters.OwnSaveS3Storage")
    with pytest.raises(CommandError, match="OwnSaveS3Storage has no way to take them"):
        counted(botocore_calls, "--profile", "cdn")
    assert botocore_calls.operations == {}


def test_rules_for_hashed_copies_without_hashing_warn(
    tmp_path, settings, static_files, s3_storage_settings, botocore_calls
):
    static_files(SITE)
    profiles(tmp_path, settings, cdn=HASHED)
    _, err = run_split("--profile", "cdn")
    assert "has object parameters for hashed copies, but this run makes none" in err
    assert s3_storage_settings.head("js/app.js")["CacheControl"] == "no-cache"
    # After the per-file lines, just before the summary: a long list does not hide it.
    lines = run("--profile", "cdn", "--dry-run", "-v", "2").splitlines()
    (warned,) = [i for i, line in enumerate(lines) if "for hashed copies, but" in line]
    assert warned == len(lines) - 2 and lines[-1].startswith(f"{len(SITE)} static files ")
    assert all(line.startswith("Would upload") for line in lines[:warned])


def test_rules_for_hashed_copies_with_no_post_process_say_so_without_a_warning(
    tmp_path, settings, static_files, s3_storage_settings_factory
):
    static_files(SITE)
    profiles(tmp_path, settings, cdn=HASHED)
    s3_storage_settings_factory(backend="storages.backends.s3.S3ManifestStaticStorage")
    out, err = run_split("--profile", "cdn", "--no-post-process", "--dry-run", "-v", "2")
    assert "for hashed copies" not in err
    assert (
        "The rules for hashed copies of profile 'cdn' apply to no file: "
        "--no-post-process makes none."
    ) in out


# --- the same rules on Azure (Azurite) and Google Cloud (the GCS emulator) ------------


PORTABLE = """\
    extends: full
    object_parameters:
      - parameters: {CacheControl: "no-cache", ContentLanguage: en}
      - match: "*.css"
        parameters:
          ContentDisposition: inline
          Metadata: {team: web}
      - hashed: true
        parameters: {CacheControl: "public, max-age=31536000, immutable"}
      - match: robots.txt
        parameters: {ContentType: "text/x-robots"}
    """
# (No "; charset=...": gcp-storage-emulator keeps a content type's bare media type.)

HASHED_BACKENDS: dict[str, dict[str, Any]] = {
    "azure": {"backend": "tests.manifest_storages.ManifestAzureStorage"},
    # Post-processing asks url(), which signs unless told not to (anonymous
    # credentials cannot sign).
    "gs": {
        "backend": "tests.manifest_storages.ManifestGoogleCloudStorage",
        "querystring_auth": False,
    },
}


def test_blob_storages_take_the_portable_rules_hashed_copies_apart(
    tmp_path, settings, static_files, remote
):
    static_files(SITE)
    profiles(tmp_path, settings, cdn=PORTABLE)
    target = remote.configure(**HASHED_BACKENDS[remote.scheme])
    counts, out = remote.counted("--profile", "cdn")
    assert counts == {remote.write: 2 * len(SITE) + 1}, out
    paths = json.loads(target.read("staticfiles.json"))["paths"]
    assert set(paths) == set(SITE)
    for original, hashed in paths.items():
        assert hashed != original
        assert target.head(original)["CacheControl"] == "no-cache", original
        assert target.head(hashed)["CacheControl"] == IMMUTABLE, hashed
        for name in (original, hashed):
            head = target.head(name)
            assert head["ContentLanguage"] == "en", name
            css = name.endswith(".css")
            assert head["ContentDisposition"] == ("inline" if css else None), name
            assert head["Metadata"] == ({"team": "web"} if css else {}), name
    assert target.head("robots.txt")["ContentType"] == "text/x-robots"
    assert target.head(paths["css/site.css"])["ContentType"] == "text/css"
    # No rule names the manifest: it keeps the storage's own settings.
    manifest_head = target.head("staticfiles.json")
    assert (manifest_head["CacheControl"], manifest_head["ContentLanguage"]) == (None, None)
    assert target.names() == set(paths) | set(paths.values()) | {"staticfiles.json"}


def test_blob_storages_smart_reupload_exactly_the_files_whose_rules_changed(
    tmp_path, settings, static_files, remote
):
    static_files(SITE)
    folder = profiles(tmp_path, settings, cdn=PORTABLE)
    target = remote.configure(**HASHED_BACKENDS[remote.scheme])
    counts, out = remote.counted("--profile", "cdn", "--smart")
    # Originals, hashed copies, staticfiles.json, and the manifest ahead and after.
    assert counts[remote.write] == 2 * len(SITE) + 1 + 2, out
    paths = json.loads(target.read("staticfiles.json"))["paths"]
    before = bucket_parameters(target)
    assert all(before[name] for name in [*SITE, *paths.values()])
    counts, _ = remote.counted("--profile", "cdn", "--smart")
    assert counts == {remote.read: 1}

    # The hashed rule changes: every hashed copy, and nothing else, is sent again.
    (folder / "cdn.yaml").write_text(textwrap.dedent(PORTABLE).replace(IMMUTABLE, "max-age=9"))
    counts, out = remote.counted("--profile", "cdn", "--smart", "--dry-run", "-v", "2")
    assert counts == {remote.read: 1}
    assert f"({len(SITE)} new parameters)" in out
    counts, out = remote.counted("--profile", "cdn", "--smart")
    assert counts == {
        remote.read: 1 + remote.reads_before_manifest_write,
        remote.write: len(SITE) + 2,
    }, out
    after = bucket_parameters(target)
    assert {name for name in after if after[name] != before[name]} == set(paths.values())
    for original, hashed in paths.items():
        assert target.head(hashed)["CacheControl"] == "max-age=9"
        assert target.head(original)["CacheControl"] == "no-cache"

    # The CSS rule's metadata changes: the two stylesheets and their hashed copies.
    (folder / "cdn.yaml").write_text(
        textwrap.dedent(PORTABLE).replace(IMMUTABLE, "max-age=9").replace("team: web", "team: ops")
    )
    counts, out = remote.counted("--profile", "cdn", "--smart")
    assert counts == {remote.read: 1 + remote.reads_before_manifest_write, remote.write: 4 + 2}
    assert "4 static files copied" in out
    css = {"css/site.css", "css/print.css", paths["css/site.css"], paths["css/print.css"]}
    for name in css:
        assert target.head(name)["Metadata"] == {"team": "ops"}, name
    final = bucket_parameters(target)
    assert {name for name in final if final[name] != after[name]} == css
    assert_truthful(target)
    counts, _ = remote.counted("--profile", "cdn", "--smart")
    assert counts == {remote.read: 1}


def test_blob_storages_smart_sees_a_change_of_the_storages_own_parameters(static_files, remote):
    static_files(SITE)
    own = {"azure": "cache_control", "gs": "object_parameters"}[remote.scheme]
    first = {"cache_control": "max-age=1"} if own == "object_parameters" else "max-age=1"
    remote.configure(**{own: first})
    run("--profile", "full", "--smart")
    second = {"cache_control": "max-age=2"} if own == "object_parameters" else "max-age=2"
    target = remote.configure(**{own: second})
    counts, _ = remote.counted("--profile", "full", "--smart")
    assert counts == {
        remote.read: 1 + remote.reads_before_manifest_write,
        remote.write: len(SITE) + 2,
    }
    assert target.head("js/app.js")["CacheControl"] == "max-age=2"


@pytest.mark.parametrize(
    ("parameters", "azure", "gs"),
    [
        (
            "{ACL: public-read, CacheControl: no-cache}",
            "'object_parameters' rule 1 in {file} sets ACL, which Azure Blob Storage has no "
            "place for (it takes CacheControl, ContentDisposition, ContentEncoding, "
            "ContentLanguage, ContentType, Metadata).",
            "'object_parameters' rule 1 in {file} sets ACL, which Google Cloud Storage has no "
            "place for (it takes CacheControl, ContentDisposition, ContentEncoding, "
            "ContentLanguage, ContentType, Metadata).",
        ),
        (
            "{Metadata: {build-id: '7'}}",
            "'object_parameters' rule 1 in {file}: 'Metadata' key 'build-id' is not one Azure "
            "Blob Storage takes (letters, digits and underscores, not starting with a digit).",
            None,
        ),
        (
            "{Metadata: {owner: Zoë}}",
            "'object_parameters' rule 1 in {file}: 'Metadata' value 'Zoë' (key 'owner') holds "
            "a character outside ASCII, which Azure Blob Storage cannot carry in metadata "
            "(percent-encode it).",
            None,
        ),
    ],
)
def test_blob_storages_refuse_what_they_cannot_carry_before_any_request(
    tmp_path, settings, static_files, remote, parameters, azure, gs
):
    static_files(SITE)
    folder = profiles(
        tmp_path, settings, cdn=f"extends: full\nobject_parameters:\n  - parameters: {parameters}\n"
    )
    expected = {"azure": azure, "gs": gs}[remote.scheme]
    remote.proxy.reset_counts()
    if expected is None:
        # What this storage can carry: deployed, and read back as written.
        run("--profile", "cdn")
        assert remote.target.head("robots.txt")["Metadata"] == yaml_mapping(parameters)["Metadata"]
        return
    with pytest.raises(CommandError) as caught:
        run("--profile", "cdn")
    assert str(caught.value) == (
        f"Profile 'cdn' ({folder / 'cdn.yaml'}) sets object parameters the storage cannot "
        f"take:\n  {expected.format(file=folder / 'cdn.yaml')}\nMove them to a profile used "
        "only with storages that take them, or set them in the storage itself. Nothing was "
        "written."
    )
    assert dict(remote.proxy.counts) == {}


def yaml_mapping(text: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(text)


def test_s3_a_profile_replacing_anothers_parameters_warns_once(
    tmp_path, settings, static_files, s3_storage_settings_factory
):
    static_files(SITE)
    profiles(tmp_path, settings, cdn=CDN, plain="extends: full\n")
    target = s3_storage_settings_factory()
    run("--profile", "cdn", "--smart")
    _, err = run_split("--profile", "plain", "--smart", "--dry-run")
    warning = (
        f"Profile 'plain' ships {len(SITE)} paths of profile 'cdn' with other object "
        "parameters: this deploy sends them again with its own, which replace the other "
        "profile's until it deploys again (the last deploy wins)."
    )
    assert err.count(warning) == 1, err
    # The docs quote it (docs/caching.md), word for word.
    quoted = (Path(__file__).parent.parent / "docs/caching.md").read_text()
    assert err.strip() in quoted.replace("\n", " ") or err.strip() in quoted
    _, err = run_split("--profile", "plain", "--smart")
    assert err.count(warning) == 1, err
    assert target.head("css/site.css").get("CacheControl") is None
    # Nothing differs any more: no word.
    _, err = run_split("--profile", "plain", "--smart")
    assert err == ""


# --- the storage's own parameters -------------------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"CacheControl": "max-age=60\r\nX-Injected: 1"}, "'CacheControl'"),
        ({"ContentDisposition": "inline\x00"}, "'ContentDisposition'"),
        ({"Metadata": {"owner": "a\nb"}}, "'Metadata' value of key 'owner'"),
        ({"Metadata": {"own\ner": "a"}}, r"'Metadata' key 'own\ner'"),
    ],
)
@pytest.mark.parametrize("smart", [True, False])
def test_s3_the_storages_own_bad_header_values_are_refused_before_any_request(
    params, named, smart, static_files, s3_storage_settings_factory, botocore_calls
):
    static_files(SITE)
    target = s3_storage_settings_factory(object_parameters=params)
    args = ("--profile", "full", "--smart" if smart else "--no-smart")
    with pytest.raises(CommandError) as caught:
        counted(botocore_calls, *args)
    message = str(caught.value)
    assert message.startswith(
        f"The storage's object_parameters: {named} holds a control character"
    ), message
    assert message.count("\n") == 0
    assert "\r" not in message and "\x00" not in message
    assert botocore_calls.operations == {}
    assert botocore_calls.attempts == 0
    assert target.names() == set()


class LineBreakS3Storage(S3Storage):
    """Gives stylesheets a header value with a line break, past every check of ours."""

    def get_object_parameters(self, name: str) -> dict[str, Any]:
        params = super().get_object_parameters(name)
        if name.endswith(".css"):
            params["ContentDisposition"] = "inline\r\nX-Injected: 1"
        return params


def test_s3_a_header_the_http_client_refuses_is_not_retried(
    static_files, s3_storage_settings_factory, botocore_calls
):
    static_files(SITE)
    target = s3_storage_settings_factory(backend="tests.test_object_parameters.LineBreakS3Storage")
    with pytest.raises(CommandError) as caught:
        counted(botocore_calls, "--profile", "full", "--no-smart")
    lines = str(caught.value).splitlines()
    refused = (
        "InvalidHeaderValue: a header this file is sent with holds a line break or a "
        "character outside Latin-1, so it was not sent"
    )
    assert lines[0] == "2 of 6 files failed to upload:"
    assert sorted(lines[1:3]) == [f"  css/print.css: {refused}", f"  css/site.css: {refused}"]
    assert lines[3:] == [
        "Check the object parameters the storage gives these files (its object_parameters "
        "or get_object_parameters): a retry cannot fix this.",
        "The other files were uploaded.",
    ]
    # One attempt each: the two refused locally are not sent again.
    assert botocore_calls.operations == {"PutObject": 6}
    assert botocore_calls.attempts == 6
    assert target.names() == set(SITE) - {"css/site.css", "css/print.css"}
