"""CDN invalidation after a deploy, against moto's CloudFront in server mode.

moto runs as a child process on loopback; a counting proxy in front of it
names each request on the wire, and what each invalidation asked for is read
back from moto itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError

from collectstupid.cdn.invalidate import requested, unhashed, url_path
from collectstupid.conf import cdn_settings
from collectstupid.errors import SettingsError
from collectstupid.manifest import Contents, dumps, loads, packed
from s3local.ports import pick_ports
from tests.cdn_fixtures import FILES, CloudFrontTarget, as_documented, doc_blocks
from tests.conftest import write_tree
from tests.helpers import MANIFEST, run

DOC = Path(__file__).resolve().parent.parent / "docs" / "cdn.md"


def deploy(*args: str, **options: Any) -> str:
    return run("--smart", "--prune", "--profile", "full", *args, **options)


def test_a_smart_deploy_invalidates_the_unhashed_paths_it_changed_and_pruned(
    site: Path, cloudfront: CloudFrontTarget, tmp_path: Path
):
    deploy()
    assert cloudfront.requests() == {"CreateInvalidation": 1}
    cloudfront.proxy.reset_counts()
    # Two files change (each: its original, a new hashed copy, and staticfiles.json),
    # one goes: 3 unhashed paths changed, 2 hashed copies made, 1 path pruned.
    write_tree(site, {"css/site.css": "body { color: blue }", "js/app.js": "console.log(2)"})
    (site / "img/old.png").unlink()
    report = tmp_path / "report.json"
    out = deploy("--report-json", str(report), verbosity=2)
    assert cloudfront.requests() == {"CreateInvalidation": 1}
    sent = [
        "/static/css/site.css",
        "/static/img/old.png",
        "/static/js/app.js",
        "/static/staticfiles.json",
    ]
    assert cloudfront.invalidations()[-1] == sent
    data = json.loads(report.read_text())
    assert data["smart"]["reasons"].keys() == {
        "css/site.css",
        "js/app.js",
        "staticfiles.json",
        *(k for k in data["smart"]["reasons"] if k.startswith(("css/site.", "js/app."))),
    }
    assert len(data["smart"]["reasons"]) == 5  # the 3 unhashed paths and 2 hashed copies
    assert data["pruned"] == ["img/old.png"]
    section = data["invalidation"]
    assert section["paths"] == sent and section["id"] and section["error"] is None
    assert f"Invalidated 4 paths on CloudFront distribution {cloudfront.distribution} " in out
    for path in sent:
        assert f"Invalidating '{path}'" in out
    said = [line for line in out.splitlines() if line.startswith("Invalidat")]
    assert as_documented("\n".join(said), cloudfront.distribution) + "\n" in doc_blocks(DOC)


def test_a_deploy_that_changes_nothing_sends_no_request(site: Path, cloudfront: CloudFrontTarget):
    deploy()
    cloudfront.proxy.reset_counts()
    out = deploy(verbosity=2)
    assert cloudfront.proxy.http_requests == 0
    assert "Invalidat" not in out
    assert len(cloudfront.invalidations()) == 1


def test_past_the_threshold_one_wildcard_is_sent(
    site: Path, cloudfront: CloudFrontTarget, settings
):
    settings.COLLECTSTUPID = {
        "CDN": {"CLOUDFRONT_DISTRIBUTION_ID": cloudfront.distribution, "WILDCARD_ABOVE": 5}
    }
    out = deploy()  # 5 originals and staticfiles.json: 6 unhashed paths
    assert cloudfront.requests() == {"CreateInvalidation": 1}
    assert cloudfront.invalidations() == [["/static/*"]]
    said = [line for line in out.splitlines() if line.startswith("Invalidat")]
    assert said[0].endswith(": 6 changed paths, more than WILDCARD_ABOVE (5).")
    assert as_documented(said[0], cloudfront.distribution) + "\n" in doc_blocks(DOC)


def test_a_failed_invalidation_fails_the_run_and_the_next_run_sends_what_is_owed(
    site: Path, cloudfront: CloudFrontTarget, monkeypatch: pytest.MonkeyPatch, settings
):
    deploy()
    write_tree(site, {"robots.txt": "User-agent: *\nDisallow: /admin/"})
    closed = pick_ports(1, offset=0)[0]
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", f"http://127.0.0.1:{closed}")
    with pytest.raises(CommandError) as failed:
        deploy()
    message = str(failed.value)
    assert message.startswith(
        "The deploy landed, but invalidating 2 paths on CloudFront distribution "
        f"{cloudfront.distribution} failed: EndpointConnectionError"
    )
    assert message.endswith("They are recorded in the deploy manifest: the next run sends them.")
    assert "\n" not in message
    documented = f"CommandError: {as_documented(message, cloudfront.distribution)}\n"
    assert documented in doc_blocks(DOC)
    owed = loads((Path(settings.STATIC_ROOT) / MANIFEST).read_bytes()).owed
    assert owed == {f"cloudfront:{cloudfront.distribution}": {"robots.txt", "staticfiles.json"}}
    # Back online, nothing changed: the run sends what it owes, once.
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront.proxy.endpoint_url)
    cloudfront.proxy.reset_counts()
    deploy()
    assert cloudfront.requests() == {"CreateInvalidation": 1}
    assert cloudfront.invalidations()[-1] == ["/static/robots.txt", "/static/staticfiles.json"]
    assert loads((Path(settings.STATIC_ROOT) / MANIFEST).read_bytes()).owed == {}
    cloudfront.proxy.reset_counts()
    deploy()
    assert cloudfront.proxy.http_requests == 0


def test_without_smart_mode_every_unhashed_path_written_is_invalidated(
    site: Path, cloudfront: CloudFrontTarget
):
    run("--profile", "full")
    assert cloudfront.requests() == {"CreateInvalidation": 1}
    assert cloudfront.invalidations() == [
        sorted(f"/static/{name}" for name in [*FILES, "staticfiles.json"])
    ]


def test_no_invalidate_and_dry_run_send_nothing(
    site: Path, cloudfront: CloudFrontTarget, tmp_path: Path
):
    out = deploy("--no-invalidate")
    assert "Invalidat" not in out
    write_tree(site, {"css/site.css": "body { color: green }"})
    report = tmp_path / "dry.json"
    out = deploy("--dry-run", "--report-json", str(report), verbosity=2)
    assert cloudfront.proxy.http_requests == 0
    assert "Would invalidate '/static/css/site.css'" in out
    assert "Would invalidate '/static/staticfiles.json'" in out
    assert f"Would invalidate 2 paths on CloudFront distribution {cloudfront.distribution}." in out
    assert json.loads(report.read_text())["invalidation"]["paths"] == [
        "/static/css/site.css",
        "/static/staticfiles.json",
    ]


def test_waiting_for_the_invalidation_polls_until_it_completed(
    site: Path, cloudfront: CloudFrontTarget
):
    out = deploy("--wait-invalidation")
    assert cloudfront.requests() == {"CreateInvalidation": 1, "GetInvalidation": 1}
    assert "completed." in out


# --- the pieces --------------------------------------------------------------


def test_hashed_copies_and_their_compressed_siblings_are_never_invalidated():
    hashed = frozenset({"css/site.3f2a.css"})
    copies = hashed | {"css/site.3f2a.css.gz", "css/site.css.gz"}
    names = ["css/site.css", "css/site.3f2a.css", "css/site.3f2a.css.gz", "css/site.css.gz"]
    assert unhashed(names, hashed, copies) == ["css/site.css", "css/site.css.gz"]


def test_paths_are_encoded_as_cloudfront_matches_them():
    assert (
        url_path("/static/", "fonts/Noto Sans é.woff2")
        == "/static/fonts/Noto%20Sans%20%C3%A9.woff2"
    )
    assert url_path("/static/", "a*b[1].js") == "/static/a%2Ab%5B1%5D.js"
    assert requested(["b", "a"], "/s/", 2) == ["/s/a", "/s/b"]
    assert requested(["c", "b", "a"], "/s/", 2) == ["/s/*"]


def test_settings_are_checked(settings):
    settings.STATIC_URL = "https://cdn.example.com/assets/v1/"
    assert cdn_settings({"CLOUDFRONT_DISTRIBUTION_ID": "E2EXAMPLE"}).prefix == "/assets/v1/"
    assert cdn_settings({"CLOUDFRONT_DISTRIBUTION_ID": "E1", "PATH_PREFIX": "s"}).prefix == "/s/"
    for bad in (
        {"CLOUDFRONT_DISTRIBUTION_ID": "e2example"},
        {"CLOUDFRONT_DISTRIBUTION_ID": "E1", "WILDCARD_ABOVE": 3001},
        {"CLOUDFRONT_DISTRIBUTION_ID": "E1", "PATH_PREFIX": "/static/*"},
        {"CLOUDFRONT_DISTRIBUTION_ID": "E1", "ZONE": "x"},
        "E2EXAMPLE",
    ):
        with pytest.raises(SettingsError):
            cdn_settings(bad)


def test_owed_invalidations_round_trip_in_the_manifest():
    data = dumps(Contents(owed={"cloudfront:E1": frozenset({"a.css", "b.css"})}))
    assert json.loads(packed.unpack(data))["invalidations_owed"] == {
        "cloudfront:E1": ["a.css", "b.css"]
    }
    assert loads(data).owed == {"cloudfront:E1": frozenset({"a.css", "b.css"})}


def test_system_checks_name_a_bad_cdn_setting_and_a_missing_boto3(settings, monkeypatch):
    from collectstupid.checks import check_settings

    settings.COLLECTSTUPID = {"CDN": {"CLOUDFRONT_DISTRIBUTION_ID": "not an id"}}
    errors = check_settings()
    assert [e.id for e in errors] == ["collectstupid.E001"]
    assert "CLOUDFRONT_DISTRIBUTION_ID" in errors[0].msg
    settings.COLLECTSTUPID = {"CDN": {"CLOUDFRONT_DISTRIBUTION_ID": "E2EXAMPLE"}}
    assert check_settings() == []
    monkeypatch.setitem(sys.modules, "boto3", None)  # what an environment without it sees
    assert [e.id for e in check_settings()] == ["collectstupid.E005"]


def test_a_failed_invalidation_keeps_credentials_out_of_the_report(
    site: Path, cloudfront: CloudFrontTarget, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", "http://user:s3cret@127.0.0.1:9")
    report = tmp_path / "report.json"
    with pytest.raises(CommandError) as failed:
        deploy("--report-json", str(report))
    section = json.loads(report.read_text())["invalidation"]
    assert section["id"] is None and section["owed"] is True
    assert section["error"].startswith("The deploy landed, but invalidating 6 paths")
    assert "s3cret" not in report.read_text() + str(failed.value)
    assert "***@127.0.0.1:9" in section["error"]


def test_hashed_copies_prune_deletes_are_not_invalidated(
    site: Path, cloudfront: CloudFrontTarget, tmp_path: Path
):
    deploy("--keep-deploys", "1")
    write_tree(site, {"css/site.css": "body { color: blue }"})
    (site / "img/old.png").unlink()
    report = tmp_path / "report.json"
    deploy("--keep-deploys", "1", "--report-json", str(report))
    pruned = json.loads(report.read_text())["pruned"]
    # The old copies of both files went too: only the original's path is invalidated.
    assert [p for p in pruned if p.startswith("css/site.")] and "img/old.png" in pruned
    assert len(pruned) == 3
    assert cloudfront.invalidations()[-1] == [
        "/static/css/site.css",
        "/static/img/old.png",
        "/static/staticfiles.json",
    ]


def test_an_s3_deploy_invalidates_under_the_static_url_path(
    static_files, s3_storage_settings, cloudfront: CloudFrontTarget, settings
):
    settings.STATIC_URL = "https://cdn.example.com/assets/"
    settings.COLLECTSTUPID = {"CDN": {"CLOUDFRONT_DISTRIBUTION_ID": cloudfront.distribution}}
    source = static_files({"css/site.css": "a", "fonts/Noto Sans.woff2": b"\x00"})
    run("--smart", "--profile", "full")
    write_tree(source, {"fonts/Noto Sans.woff2": b"\x01"})
    run("--smart", "--profile", "full")
    assert cloudfront.requests() == {"CreateInvalidation": 2}
    assert cloudfront.invalidations() == [
        ["/assets/css/site.css", "/assets/fonts/Noto%20Sans.woff2"],
        ["/assets/fonts/Noto%20Sans.woff2"],
    ]


def test_what_a_mistyped_distribution_is_owed_goes_to_the_one_configured_next(
    site: Path, cloudfront: CloudFrontTarget, settings
):
    deploy()
    write_tree(site, {"robots.txt": "User-agent: *\nDisallow: /admin/"})
    settings.COLLECTSTUPID = {"CDN": {"CLOUDFRONT_DISTRIBUTION_ID": "EMISTYPED1"}}
    cloudfront.proxy.reset_counts()
    with pytest.raises(CommandError) as failed:
        deploy()
    assert "CloudFront distribution EMISTYPED1 failed: NoSuchDistribution" in str(failed.value)
    assert cloudfront.requests() == {"CreateInvalidation": 1}
    manifest_path = Path(settings.STATIC_ROOT) / MANIFEST
    assert loads(manifest_path.read_bytes()).owed == {
        "cloudfront:EMISTYPED1": {"robots.txt", "staticfiles.json"}
    }
    # The id fixed, nothing changed: the real distribution gets what was owed, once.
    settings.COLLECTSTUPID = {"CDN": {"CLOUDFRONT_DISTRIBUTION_ID": cloudfront.distribution}}
    cloudfront.proxy.reset_counts()
    out = deploy()
    assert cloudfront.requests() == {"CreateInvalidation": 1}
    assert cloudfront.invalidations()[-1] == ["/static/robots.txt", "/static/staticfiles.json"]
    assert (
        "What the deploy manifest owes to 'cloudfront:EMISTYPED1' (2 paths), which this run "
        f"does not invalidate, goes to CloudFront distribution {cloudfront.distribution} "
        "instead." in out
    )
    assert loads(manifest_path.read_bytes()).owed == {}
    cloudfront.proxy.reset_counts()
    out = deploy()
    assert cloudfront.proxy.http_requests == 0
    assert "owes" not in out


def test_a_deploy_that_does_not_complete_owes_the_mistyped_distributions_paths_to_the_new_one(
    site: Path, cloudfront: CloudFrontTarget, settings
):
    deploy()
    write_tree(site, {"robots.txt": "User-agent: *\nDisallow: /admin/"})
    settings.COLLECTSTUPID = {"CDN": {"CLOUDFRONT_DISTRIBUTION_ID": "EMISTYPED1"}}
    with pytest.raises(CommandError, match="NoSuchDistribution"):
        deploy()
    settings.COLLECTSTUPID = {"CDN": {"CLOUDFRONT_DISTRIBUTION_ID": cloudfront.distribution}}
    # A folder where robots.txt goes: its write fails, the deploy is not complete.
    target = Path(settings.STATIC_ROOT) / "robots.txt"
    target.unlink()
    target.mkdir()
    write_tree(site, {"robots.txt": "User-agent: *", "css/site.css": "body { color: blue }"})
    cloudfront.proxy.reset_counts()
    with pytest.raises(CommandError, match="failed to upload"):
        deploy()
    assert cloudfront.proxy.http_requests == 0
    owed = loads((Path(settings.STATIC_ROOT) / MANIFEST).read_bytes()).owed
    assert owed == {
        f"cloudfront:{cloudfront.distribution}": {"robots.txt", "staticfiles.json", "css/site.css"}
    }


def test_a_non_ascii_prefix_is_percent_encoded_as_the_paths_are(
    static_files, s3_storage_settings, cloudfront: CloudFrontTarget, settings
):
    settings.STATIC_URL = "https://cdn.example.com/stätic/"
    settings.COLLECTSTUPID = {"CDN": {"CLOUDFRONT_DISTRIBUTION_ID": cloudfront.distribution}}
    static_files({"css/site.css": "a", "fonts/Noto é.woff2": b"\x00"})
    run("--smart", "--profile", "full")
    settings.COLLECTSTUPID = {
        "CDN": {
            "CLOUDFRONT_DISTRIBUTION_ID": cloudfront.distribution,
            "PATH_PREFIX": "/zoë/st%C3%A4tic/",
            "WILDCARD_ABOVE": 0,
        }
    }
    run("--smart", "--profile", "full", "--force")
    assert cloudfront.requests() == {"CreateInvalidation": 2}
    assert cloudfront.invalidations() == [
        ["/st%C3%A4tic/css/site.css", "/st%C3%A4tic/fonts/Noto%20%C3%A9.woff2"],
        ["/zo%C3%AB/st%C3%A4tic/*"],
    ]
