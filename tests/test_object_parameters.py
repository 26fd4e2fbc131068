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
    ],
)
def test_bad_rules_name_the_file_and_the_rule(tmp_path, settings, rules, expected):
    folder = profiles(tmp_path, settings, cdn=f"extends: full\n{rules}")
    with pytest.raises(ProfileError) as caught:
        load_profiles([folder])
    assert f"Profile file {folder / 'cdn.yaml'}" in str(caught.value)
    assert expected in str(caught.value)


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
    static_files(SITE)
    profiles(tmp_path, settings, cdn=CDN)
    target = s3_storage_settings_factory(
        object_parameters={"CacheControl": "max-age=1", "ContentLanguage": "de"}
    )
    ops, out = counted(botocore_calls, "--profile", "cdn")
    assert ops == {"PutObject": len(SITE)}, out
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


def test_s3_without_rules_objects_stay_as_save_writes_them(
    static_files, s3_storage_settings_factory, botocore_calls
):
    static_files(SITE)
    target = s3_storage_settings_factory(object_parameters={"CacheControl": "max-age=1"})
    ops, _ = counted(botocore_calls, "--profile", "full")
    assert ops == {"PutObject": len(SITE)}
    for name in SITE:
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
    static_files(SITE)
    profiles(tmp_path, settings, cdn=HASHED)
    target = s3_storage_settings_factory(backend="storages.backends.s3.S3ManifestStaticStorage")
    ops, out = counted(botocore_calls, "--profile", "cdn")
    paths = json.loads(target.read("staticfiles.json"))["paths"]
    assert ops == {"PutObject": 2 * len(SITE) + 1}, out
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
    static_files(SITE)
    folder = profiles(tmp_path, settings, cdn=CDN)
    target = s3_storage_settings_factory()
    ops, _ = counted(botocore_calls, "--profile", "cdn", "--smart")
    assert ops == {"GetObject": 1, "PutObject": len(SITE) + 2}
    before = bucket_parameters(target)
    assert all(before[name] for name in SITE)

    ops, _ = counted(botocore_calls, "--profile", "cdn", "--smart")
    assert ops == {"GetObject": 1}

    (folder / "cdn.yaml").write_text(textwrap.dedent(CDN).replace("max-age=600", "max-age=900"))
    ops, out = counted(botocore_calls, "--profile", "cdn", "--smart", "--dry-run", "-v", "2")
    assert ops == {"GetObject": 1}
    assert "Would upload 'css/site.css' (new parameters," in out
    assert "(2 new parameters)" in out
    ops, out = counted(botocore_calls, "--profile", "cdn", "--smart")
    assert ops == {"GetObject": 1, "PutObject": 2 + 2}, out
    assert "2 static files copied" in out and f", {len(SITE) - 2} unmodified" in out
    assert target.head("css/site.css")["CacheControl"] == "public, max-age=900"
    assert target.head("css/print.css")["CacheControl"] == "public, max-age=900"
    after = bucket_parameters(target)
    changed = {name for name in SITE if after[name] != before[name]}
    assert changed == {"css/site.css", "css/print.css"}
    assert_truthful(target)

    ops, _ = counted(botocore_calls, "--profile", "cdn", "--smart")
    assert ops == {"GetObject": 1}


def test_s3_smart_sees_a_change_of_the_storages_own_parameters(
    static_files, s3_storage_settings_factory, botocore_calls
):
    static_files(SITE)
    s3_storage_settings_factory(object_parameters={"CacheControl": "max-age=1"})
    run("--profile", "full", "--smart")
    target = s3_storage_settings_factory(object_parameters={"CacheControl": "max-age=2"})
    ops, _ = counted(botocore_calls, "--profile", "full", "--smart")
    assert ops == {"GetObject": 1, "PutObject": len(SITE) + 2}
    assert target.head("js/app.js")["CacheControl"] == "max-age=2"


def test_s3_smart_entries_without_a_parameter_hash_upload_once(
    static_files, s3_storage_settings, botocore_calls
):
    static_files(SITE)
    run("--profile", "full", "--smart")
    # The manifest an earlier release wrote: content hashes only.
    contents = manifest.loads(s3_storage_settings.read(MANIFEST))
    old = {p: manifest.Entry(e.sha256, e.size) for p, e in contents.entries.items()}
    s3_storage_settings.client.put_object(
        Bucket=s3_storage_settings.bucket,
        Key=s3_storage_settings.key(MANIFEST),
        Body=manifest.dumps(old, profiles=contents.profiles),
    )
    ops, _ = counted(botocore_calls, "--profile", "full", "--smart")
    assert ops == {"GetObject": 1, "PutObject": len(SITE) + 2}
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
