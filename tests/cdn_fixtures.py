"""Pytest fixtures for CloudFront: moto's server mode as a child process on loopback,
behind a proxy that names each request's operation, and a site that invalidates it.

Loaded as a plugin (``pytest_plugins`` in conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulators.moto import MotoServer, cloudfront_operation
from s3local import S3Proxy
from tests.conftest import write_tree

FILES: dict[str, bytes | str] = {
    "css/site.css": "body { color: red }",
    "js/app.js": "console.log(1)",
    "img/logo.png": b"\x89PNG logo",
    "img/old.png": b"\x89PNG old",
    "robots.txt": "User-agent: *",
}
MANIFEST_STORAGE = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"


@dataclass
class CloudFrontTarget:
    proxy: S3Proxy
    client: Any
    distribution: str

    def requests(self) -> dict[str, int]:
        return dict(self.proxy.counts)

    def invalidations(self) -> list[list[str]]:
        """The paths of every invalidation the distribution received, oldest first."""
        listed = self.client.list_invalidations(DistributionId=self.distribution)
        found = []
        for item in listed["InvalidationList"].get("Items", []):
            batch = self.client.get_invalidation(DistributionId=self.distribution, Id=item["Id"])
            found.append(
                (
                    item["CreateTime"],
                    item["Id"],
                    batch["Invalidation"]["InvalidationBatch"]["Paths"].get("Items", []),
                )
            )
        return [sorted(paths) for _, _, paths in sorted(found)]


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with MotoServer(Path(tmp_path_factory.mktemp("moto"))) as server:
        yield server


def distribution_config(reference: str) -> dict[str, Any]:
    return {
        "CallerReference": reference,
        "Comment": "collectstupid tests",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "bucket",
                    "DomainName": "bucket.s3.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "bucket",
            "ViewerProtocolPolicy": "allow-all",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        },
    }


@pytest.fixture
def cloudfront(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[CloudFrontTarget]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("cloudfront", endpoint_url=moto_server.endpoint_url)
    made = client.create_distribution(DistributionConfig=distribution_config(request.node.name))
    with S3Proxy(moto_server.port, classify=cloudfront_operation) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", proxy.endpoint_url)
        yield CloudFrontTarget(proxy, client, made["Distribution"]["Id"])


@pytest.fixture
def site(settings, tmp_path: Path, cloudfront: CloudFrontTarget) -> Path:
    """A ManifestStaticFilesStorage target on disk, invalidating the test distribution."""
    source = write_tree(tmp_path / "src", FILES)
    settings.STATICFILES_DIRS = [str(source)]
    settings.STATIC_ROOT = str(tmp_path / "root")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": MANIFEST_STORAGE, "OPTIONS": {"location": settings.STATIC_ROOT}},
    }
    settings.COLLECTSTUPID = {"CDN": {"CLOUDFRONT_DISTRIBUTION_ID": cloudfront.distribution}}
    return source


def as_documented(text: str, distribution: str) -> str:
    """Real output with this run's ids and addresses as the docs show them."""
    text = re.sub(
        r"\(([A-Z0-9]{8,})\)", "(I2J0I21PCUYOIK)", text.replace(distribution, "E2EXAMPLE")
    )
    return re.sub(r"http://127\.0\.0\.1:\d+", "https://cloudfront.amazonaws.com", text)


def doc_blocks(page: Path) -> list[str]:
    """The fenced blocks of a Markdown page, without their fences."""
    return re.findall(r"^```[a-z]*\n(.*?)^```", page.read_text(), re.MULTILINE | re.DOTALL)
