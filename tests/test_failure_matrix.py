"""Every operation on every storage under every failure: one voice, non-zero, nothing hidden.

The matrix is generated: a cell is (operation, storage, condition), and a new
operation or storage joins by adding one row to ``OPERATIONS`` or ``STORAGES``.
Each cell deploys the project once with a good configuration (so there is a
manifest to read and files to delete), breaks the configuration or the
server in one way, runs the operation at ``-v 2`` with ``--report-json``,
and asserts:

- the command ends in a ``CommandError`` (no other exception: no traceback
  below ``-v 3``) with a non-zero status;
- its message is a few lines, names the cause and says what to do, with
  exactly one verdict on whether running again can help, and is not also
  printed before it;
- no secret and no URL credential appears in stdout, stderr, the message or
  the JSON report;
- every object written or deleted is one the output reports.

Conditions a storage cannot produce are listed in ``NOT_PRODUCIBLE`` with
the reason; operations that make no request under a condition (a plain
``--dry-run``, ``--list-profiles``, ``check --deploy``) are asserted to send
nothing and succeed, in ``test_operations_that_send_nothing``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from s3local import FaultPlan, S3Proxy, SeaweedServer
from tests.conftest import write_tree
from tests.helpers import ASSETS
from tests.s3_fixtures import STORAGE_BACKEND as S3_BACKEND
from tests.s3_fixtures import storage_options

# -- the conditions -------------------------------------------------------------------

MISSING = "missing bucket"
CREDENTIALS = "wrong credentials"
REFUSED = "endpoint refuses connections"
USERINFO = "endpoint URL with user:pass@"
LIST_5XX = "5xx on the listing"
DELETE_5XX = "5xx on a delete"
READ_5XX = "5xx on the manifest read"
WRITE_5XX = "5xx on the manifest write"
CONDITIONS = (MISSING, CREDENTIALS, REFUSED, USERINFO, LIST_5XX, DELETE_5XX, READ_5XX, WRITE_5XX)
REACHING = frozenset({MISSING, CREDENTIALS, REFUSED, USERINFO})

PASSWORD = "s3cr3tpw"
WRONG_SECRET = "wr0ng-s3cret-Zq9"
# Nothing listens on port 1 of the loopback: every connection is refused at once.
DEAD = "127.0.0.1:1"
STALE = "old/stale.css"


# -- the operations (one row each) ---------------------------------------------------


@dataclass(frozen=True)
class Operation:
    name: str
    args: tuple[str, ...]
    # The conditions its requests meet; under the others it does what it always does.
    meets: frozenset[str]
    # Whether it may write or delete at all (a dry run may not).
    writes: bool = True
    # The storages it applies to (None: every one).
    storages: frozenset[str] | None = None


OPERATIONS = (
    Operation("deploy", ("--profile", "full"), REACHING),
    Operation("smart", ("--profile", "full", "--smart"), REACHING | {READ_5XX, WRITE_5XX}),
    Operation(
        "smart-prune",
        ("--profile", "full", "--smart", "--prune"),
        REACHING | {READ_5XX, WRITE_5XX, DELETE_5XX},
    ),
    Operation("clear", ("--profile", "full", "--clear"), REACHING | {LIST_5XX, DELETE_5XX}),
    Operation(
        "clear-dry-run", ("--profile", "full", "--clear", "--dry-run"), REACHING | {LIST_5XX}, False
    ),
    Operation(
        "smart-dry-run", ("--profile", "full", "--smart", "--dry-run"), REACHING | {READ_5XX}, False
    ),
    Operation(
        "clear-smart",
        ("--profile", "full", "--clear", "--smart"),
        REACHING | {LIST_5XX, READ_5XX, WRITE_5XX},
    ),
    # Only S3 keeps uploads open; the listing of them meets what every request meets.
    Operation(
        "abort-uploads",
        ("--profile", "full", "--abort-uploads"),
        REACHING,
        storages=frozenset({"s3"}),
    ),
    # One listing; a local location that is missing holds nothing, so every file is
    # reported missing (tests/test_verify.py).
    Operation(
        "verify",
        ("--profile", "full", "--verify"),
        REACHING | {LIST_5XX},
        False,
        storages=frozenset({"s3", "azure", "gcs"}),
    ),
    # Remote storages refuse --link before any request (tests/test_link.py).
    Operation("link", ("--profile", "full", "--link"), REACHING, storages=frozenset({"local"})),
)


# -- the storages (one row each) -----------------------------------------------------


@dataclass
class Harness:
    """One storage as a cell sees it: how to break it, and what it holds."""

    # Point STORAGES at the storage, good (no argument) or under a condition.
    configure: Callable[[str | None], None]
    # Every object's name and a digest of its bytes, read directly (no proxy).
    snapshot: Callable[[], dict[str, str]]
    proxy: S3Proxy | None
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class StorageRow:
    name: str
    # The operation each server fault hits, as the proxy names it.
    faults: dict[str, str]
    make: Callable[[pytest.FixtureRequest], Harness]
    # Faults on every request of the operation, not only on the manifest's.
    whole_operation: frozenset[str] = frozenset()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fault(proxy: S3Proxy, operation: str, target: str | None = None) -> None:
    proxy.faults = FaultPlan(
        error_ratio=1.0, error_statuses=(500,), only_operations={operation}, only_target=target
    )


@pytest.fixture(scope="module")
def strict_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """A SeaweedFS of the matrix's own: the session's creates a bucket on a write to a
    missing one, so a missing bucket would not be missing there."""
    server = SeaweedServer(Path(tmp_path_factory.mktemp("strict-s3")), auto_create_bucket=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def s3_harness(request: pytest.FixtureRequest) -> Harness:
    request.getfixturevalue("no_backoff")
    server: SeaweedServer = request.getfixturevalue("strict_s3")
    proxy = S3Proxy(server.port).start()
    request.addfinalizer(proxy.stop)
    settings = request.getfixturevalue("settings")
    bucket = server.create_bucket(f"t-matrix-{uuid.uuid4().hex[:12]}")
    client = server.client()

    def configure(condition: str | None) -> None:
        options = storage_options(server, bucket, proxy.endpoint_url)
        if condition == MISSING:
            options["bucket_name"] = f"t-missing-{uuid.uuid4().hex[:8]}"
        elif condition == CREDENTIALS:
            options["secret_key"] = WRONG_SECRET
        elif condition == REFUSED:
            options["endpoint_url"] = f"http://{DEAD}"
        elif condition == USERINFO:
            options["endpoint_url"] = f"http://alice:{PASSWORD}@{DEAD}"
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": S3_BACKEND, "OPTIONS": options},
        }

    def snapshot() -> dict[str, str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        keys = [item["Key"] for page in pages for item in page.get("Contents", ())]
        return {k: digest(client.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys}

    return Harness(configure, snapshot, proxy, (server.secret_key, WRONG_SECRET, PASSWORD))


def azure_harness(request: pytest.FixtureRequest) -> Harness:
    request.getfixturevalue("no_azure_backoff")
    azurite = request.getfixturevalue("azurite")
    proxy: S3Proxy = request.getfixturevalue("azure_proxy")
    factory = request.getfixturevalue("azure_settings_factory")
    good = factory()
    wrong_key = azurite.key[:-8] + "AAAAAAA="

    def configure(condition: str | None) -> None:
        if condition == MISSING:
            factory(azure_container=f"missing-{uuid.uuid4().hex[:8]}")
        elif condition == CREDENTIALS:
            factory(
                connection_string=azurite.connection_string(proxy.port).replace(
                    azurite.key, wrong_key
                )
            )
        elif condition == REFUSED:
            factory(port=1)
        elif condition == USERINFO:
            factory(
                connection_string=(
                    f"DefaultEndpointsProtocol=http;AccountName={azurite.account};"
                    f"AccountKey={azurite.key};"
                    f"BlobEndpoint=http://alice:{PASSWORD}@{DEAD}/{azurite.account};"
                )
            )
        else:
            factory()

    def snapshot() -> dict[str, str]:
        return {name: digest(good.read_blob(name)) for name in good.list_blobs()}

    return Harness(configure, snapshot, proxy, (azurite.key, wrong_key, PASSWORD))


def gcs_harness(request: pytest.FixtureRequest) -> Harness:
    proxy: S3Proxy = request.getfixturevalue("gcs_proxy")
    factory = request.getfixturevalue("gcs_settings_factory")
    quick_gcs_retries(request.getfixturevalue("monkeypatch"))
    good = factory()

    def configure(condition: str | None) -> None:
        if condition == MISSING:
            factory(bucket_name=f"missing-{uuid.uuid4().hex[:8]}")
        elif condition == REFUSED:
            factory(endpoint_url=f"http://{DEAD}")
        elif condition == USERINFO:
            factory(endpoint_url=f"http://alice:{PASSWORD}@{DEAD}")
        else:
            factory()

    def snapshot() -> dict[str, str]:
        return {name: digest(good.read_blob(name)) for name in good.list_blobs()}

    return Harness(configure, snapshot, proxy, (PASSWORD,))


def quick_gcs_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's retries stay real; their deadline becomes a fifth of a second."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    from collectstupid.gcs import writer

    quick = DEFAULT_RETRY.with_timeout(0.2).with_delay(initial=0.01, maximum=0.02)
    monkeypatch.setattr(writer, "retry", lambda: quick)


def local_harness(request: pytest.FixtureRequest) -> Harness:
    settings = request.getfixturevalue("settings")
    tmp_path: Path = request.getfixturevalue("tmp_path")
    root = tmp_path / "target"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")

    def configure(condition: str | None) -> None:
        # "Missing" on a local target: the location lies under a regular file.
        location = blocker / "static" if condition == MISSING else root
        settings.STATIC_ROOT = str(location)
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(location)},
            },
        }

    def snapshot() -> dict[str, str]:
        return {
            path.relative_to(root).as_posix(): digest(path.read_bytes())
            for path in root.rglob("*")
            if path.is_file()
        }

    return Harness(configure, snapshot, None, ())


STORAGES = (
    StorageRow(
        "s3",
        {
            LIST_5XX: "ListObjectsV2",
            DELETE_5XX: "DeleteObjects",
            READ_5XX: "GetObject",
            WRITE_5XX: "PutObject",
        },
        s3_harness,
    ),
    StorageRow(
        "azure",
        {LIST_5XX: "ListBlobs", DELETE_5XX: "BlobBatch", READ_5XX: "GetBlob", WRITE_5XX: "PutBlob"},
        azure_harness,
    ),
    StorageRow(
        "gcs",
        {
            LIST_5XX: "ListObjects",
            DELETE_5XX: "DeleteObject",
            READ_5XX: "DownloadObject",
            # A GCS upload names its object in the body: every InsertObject fails, and
            # the cells that meet this condition upload nothing but the manifest.
            WRITE_5XX: "InsertObject",
        },
        gcs_harness,
        whole_operation=frozenset({WRITE_5XX}),
    ),
    StorageRow("local", {}, local_harness),
)

# Conditions a storage cannot be put in, and why.
NOT_PRODUCIBLE = {
    ("gcs", CREDENTIALS): "the GCS emulator accepts any credentials (it checks none)",
    ("gcs", READ_5XX): (
        "the GCS emulator keeps no object generations: after a failed read the manifest "
        "write cannot be made conditional there, so nothing refuses it"
    ),
    ("local", CREDENTIALS): "a local folder has no credentials",
    ("local", REFUSED): "a local folder has no endpoint",
    ("local", USERINFO): "a local folder has no endpoint",
    ("local", LIST_5XX): "a local folder has no server to fail",
    ("local", DELETE_5XX): "a local folder has no server to fail",
    ("local", READ_5XX): "a local folder has no server to fail",
    ("local", WRITE_5XX): "a local folder has no server to fail",
}

# What the message must name for each condition, on each storage: the cause.
CAUSES: dict[str, tuple[str, ...]] = {
    MISSING: (
        "NoSuchBucket",
        "ContainerNotFound",
        "NotFound",
        "404",
        "not a directory",
        "Not a directory",
    ),
    CREDENTIALS: ("SignatureDoesNotMatch", "AuthorizationFailure", "InvalidAccessKeyId"),
    REFUSED: ("unreachable", "Connection refused", "connect"),
    USERINFO: ("unreachable", "Connection refused", "connect"),
    LIST_5XX: ("500", "InternalError", "Internal"),
    DELETE_5XX: ("500", "InternalError", "Internal"),
    READ_5XX: ("500", "InternalError", "Internal"),
    WRITE_5XX: ("500", "InternalError", "Internal"),
}
RETRY_HELPS = "run the command again"
RETRY_CANNOT = "a retry cannot fix this"
# The longest a closing message may be, in lines.
SHORT = 8


# Cells that do not hold yet, and why: each is expected to fail until it is fixed.
GAPS: dict[tuple[str, str, str], str] = {}


def cells() -> list[Any]:
    found = []
    for operation in OPERATIONS:
        for storage in STORAGES:
            for condition in CONDITIONS:
                if condition not in operation.meets or (storage.name, condition) in NOT_PRODUCIBLE:
                    continue
                if operation.storages is not None and storage.name not in operation.storages:
                    continue
                gap = GAPS.get((operation.name, storage.name, condition))
                marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
                name = f"{operation.name}-{storage.name}-{condition}"
                found.append(pytest.param(operation, storage, condition, id=name, marks=marks))
    return found


@dataclass
class Ran:
    out: str
    err: str
    error: CommandError
    report: str


def run_cell(args: tuple[str, ...], report: Path) -> Ran:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "collectstupid",
            *args,
            "--report-json",
            str(report),
            interactive=False,
            verbosity=2,
            stdout=out,
            stderr=err,
        )
    text = report.read_text() if report.exists() else ""
    return Ran(out.getvalue(), err.getvalue(), raised.value, text)


def reported(ran: Ran) -> set[str]:
    """Every object the run says it wrote or deleted, by name under the location."""
    names: set[str] = set()
    for line in (ran.out + ran.err).splitlines():
        for verb in ("Copying '", "Deleting '", "Pruned '"):
            if line.startswith(verb):
                names.add(line[len(verb) :].split("'", 1)[0])
    return names


@pytest.fixture
def seeded(request: pytest.FixtureRequest, static_files: Any) -> Callable[[StorageRow], Harness]:
    def seed(storage: StorageRow) -> Harness:
        harness = storage.make(request)
        source = write_tree(Path(static_files(ASSETS)), {STALE: "p { }"})
        harness.configure(None)
        call_command(
            "collectstupid",
            "--profile",
            "full",
            "--smart",
            interactive=False,
            verbosity=0,
            stdout=StringIO(),
            stderr=StringIO(),
        )
        (source / STALE).unlink()
        return harness

    return seed


@pytest.mark.parametrize(("operation", "storage", "condition"), cells())
def test_failure_matrix(
    operation: Operation, storage: StorageRow, condition: str, seeded: Any, tmp_path: Path
) -> None:
    harness = seeded(storage)
    before = harness.snapshot()
    harness.configure(condition)
    if condition in storage.faults:
        assert harness.proxy is not None
        fault(
            harness.proxy,
            storage.faults[condition],
            "manifest.json"
            if condition in (READ_5XX, WRITE_5XX) and condition not in storage.whole_operation
            else None,
        )
    ran = run_cell(operation.args, tmp_path / "report.json")
    if harness.proxy is not None:
        harness.proxy.faults = None
    message = str(ran.error)
    everything = "\n".join((ran.out, ran.err, message, ran.report))

    assert ran.error.returncode != 0
    assert "Traceback" not in everything
    for secret in harness.secrets:
        assert secret not in everything
    assert "' it could not" not in everything  # a sentence, not a pasted fragment
    lines = message.splitlines()
    assert 1 <= len(lines) <= SHORT, message
    assert any(cause in message for cause in CAUSES[condition]), message
    verdicts = message.lower().count(RETRY_HELPS) + message.lower().count(RETRY_CANNOT)
    assert verdicts == 1, message
    # The closing error is said once: not printed as a line before it too.
    assert lines[0] not in ran.err, ran.err

    after = harness.snapshot()
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    if not operation.writes:
        assert changed == set()
    unreported = {
        name
        for name in changed
        if "manifest.json" not in name and not any(name.endswith(said) for said in reported(ran))
    }
    assert unreported == set(), (unreported, ran.out, ran.err)


# Operations that make no request: under every condition they send nothing and succeed.
QUIET = (
    ("dry-run", ("collectstupid", "--profile", "full", "--dry-run")),
    ("list-profiles", ("collectstupid", "--list-profiles")),
    ("check-deploy", ("check", "--deploy")),
)


@pytest.mark.parametrize(("name", "args"), QUIET, ids=[name for name, _ in QUIET])
@pytest.mark.parametrize("condition", sorted(REACHING))
def test_operations_that_send_nothing(
    name: str, args: tuple[str, ...], condition: str, seeded: Any
) -> None:
    harness = seeded(STORAGES[0])
    assert harness.proxy is not None
    harness.configure(condition)
    harness.proxy.reset_counts()
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, verbosity=2)
    assert harness.proxy.http_requests == 0
    everything = out.getvalue() + err.getvalue()
    assert "Traceback" not in everything
    for secret in harness.secrets:
        assert secret not in everything
