"""The deploy manifest: its format, the merge rule, the conditional write, the S3 store."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from storages.backends.s3 import S3Storage

from collectstupid import manifest
from collectstupid.backends import backend_for
from collectstupid.errors import ManifestError, ManifestFormatError
from collectstupid.manifest import Entry, Snapshot
from collectstupid.manifest.entries import FORMAT, VERSION
from collectstupid.s3.manifest import S3ManifestStore
from collectstupid.storage import target_storage
from tests.helpers import MANIFEST, bucket_manifest, entry

# --- the format ------------------------------------------------------------


def test_dumps_loads_round_trip_and_is_stable():
    entries = {"b.css": entry("b"), "a/é.js": entry("a")}
    data = manifest.dumps(entries)
    assert manifest.loads(data) == entries
    assert manifest.dumps(dict(reversed(list(entries.items())))) == data
    doc = json.loads(data)
    assert doc["format"] == FORMAT
    assert doc["version"] == VERSION


@pytest.mark.parametrize(("data", "why"), [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[]", "not written by collectstupid"),
    (b'{"files": {}}', "not written by collectstupid"),
    (json.dumps({"format": FORMAT, "version": 99, "files": {}}).encode(),
     "format version 99"),
    (json.dumps({"format": FORMAT, "version": 1, "files": []}).encode(),
     "'files' is not a mapping"),
    (json.dumps({"format": FORMAT, "version": 1,
                 "files": {"a": {"sha256": "x", "size": 1}}}).encode(), "entry for 'a'"),
    (json.dumps({"format": FORMAT, "version": 1,
                 "files": {"a": {"sha256": "0" * 64, "size": True}}}).encode(), "entry for 'a'"),
])
def test_loads_rejects_anything_it_did_not_write(data, why):
    with pytest.raises(ManifestFormatError, match=why):
        manifest.loads(data)


# --- the merge rule --------------------------------------------------------

OLD, MINE, THEIRS = entry("old"), entry("mine"), entry("theirs")


def test_merge_keeps_entries_this_run_did_not_touch():
    merged, conflicts = manifest.merge(
        fresh={"media/a.mp4": OLD, "css/a.css": OLD},
        base={"media/a.mp4": OLD, "css/a.css": OLD},
        uploaded={"css/a.css": MINE},
        failed=[],
    )
    assert merged == {"media/a.mp4": OLD, "css/a.css": MINE}
    assert conflicts == []


def test_merge_drops_a_failed_files_entry():
    # The failed write may have landed or half-landed: the old entry is no longer known true.
    merged, _ = manifest.merge({"a": OLD, "b": OLD}, {"a": OLD, "b": OLD}, {}, ["a"])
    assert merged == {"b": OLD}


def test_merge_after_another_run_wrote():
    base = {"same": OLD, "raced": OLD, "theirs-only": OLD, "gone": OLD}
    fresh = {"same": MINE, "raced": THEIRS, "theirs-only": THEIRS, "new-theirs": THEIRS}
    uploaded = {"same": MINE, "raced": MINE, "gone": MINE, "mine-only": MINE}
    merged, conflicts = manifest.merge(fresh, base, uploaded, [])
    assert merged == {
        "same": MINE,  # both wrote the same bytes: true whichever landed last
        "theirs-only": THEIRS,
        "new-theirs": THEIRS,
        "mine-only": MINE,  # nobody else recorded it since our read
    }
    # Both wrote other bytes (or they dropped it): whose write landed last is unknown.
    assert conflicts == ["gone", "raced"]


class FakeStore:
    """An in-memory store; ``before_write`` lets a test play another run."""

    name = MANIFEST

    def __init__(self, entries: dict[str, Entry] | None = None) -> None:
        self.data = manifest.dumps(entries) if entries is not None else None
        self.version = 0
        self.writes = 0
        self.reads = 0
        self.before_write: Callable[[], None] | None = None

    def read(self) -> Snapshot:
        self.reads += 1
        if self.data is None:
            return Snapshot()
        return Snapshot(manifest.loads(self.data), str(self.version), found=True)

    def put(self, entries: dict[str, Entry]) -> None:
        self.data = manifest.dumps(entries)
        self.version += 1

    def write(self, data: bytes, expected: Snapshot) -> bool:
        if self.before_write:
            hook, self.before_write = self.before_write, None
            hook()
        current = str(self.version) if self.data is not None else None
        if current != expected.token:
            return False
        self.data = data
        self.version += 1
        self.writes += 1
        return True


def test_publish_writes_nothing_when_nothing_changed():
    store = FakeStore({"a": OLD})
    result = manifest.publish(store, store.read(), {}, [])
    assert not result.written
    assert store.writes == 0


def test_publish_remerges_onto_a_copy_another_run_wrote():
    store = FakeStore({"css/a.css": OLD, "media/a.mp4": OLD})
    base = store.read()
    store.before_write = lambda: store.put({"css/a.css": OLD, "media/a.mp4": THEIRS})
    result = manifest.publish(store, base, {"css/a.css": MINE}, [])
    assert result.written and result.attempts == 2
    assert manifest.loads(store.data) == {"css/a.css": MINE, "media/a.mp4": THEIRS}


def test_publish_after_a_refused_write_that_had_landed_counts_as_written():
    class Landed(FakeStore):
        # The first write lands but its answer is lost; the retry is refused by it.
        def write(self, data: bytes, expected: Snapshot) -> bool:
            if self.writes == 0:
                super().write(data, expected)
                return False
            return super().write(data, expected)

    store = Landed({"a": OLD})
    result = manifest.publish(store, store.read(), {"a": MINE}, [])
    assert result.written and result.attempts == 1
    assert manifest.loads(store.data) == {"a": MINE}


def test_publish_gives_up_after_a_few_conflicts():
    class Busy(FakeStore):
        def write(self, data: bytes, expected: Snapshot) -> bool:
            return False  # another run always wrote first

    busy = Busy({})
    with pytest.raises(ManifestError, match="3 attempts"):
        manifest.publish(busy, busy.read(), {"a": MINE}, [], attempts=3)
    assert busy.reads == 1 + 3


def test_s3_racing_writes_of_different_content_drop_the_entry(s3_storage_settings):
    store = backend_for(target_storage()).manifest_store(MANIFEST)
    assert isinstance(store, S3ManifestStore)
    assert store.key == s3_storage_settings.key(MANIFEST)
    manifest.publish(store, store.read(), {"app.js": OLD, "logo.png": OLD})
    run_a, run_b = store.read(), store.read()
    # Two commits both uploaded app.js: nobody knows whose PUT landed last.
    first = manifest.publish(store, run_a, {"app.js": MINE})
    second = manifest.publish(store, run_b, {"app.js": THEIRS, "logo.png": THEIRS})
    assert first.written and first.attempts == 1
    assert second.written and second.attempts == 2 and second.conflicts == ("app.js",)
    assert bucket_manifest(s3_storage_settings) == {"logo.png": THEIRS}


def test_the_s3_manifest_store_makes_a_plain_client_not_the_storages_resource(monkeypatch):
    def no_resource(self: Any) -> Any:
        raise AssertionError("the storage's boto3 resource was built")

    monkeypatch.setattr(S3Storage, "connection", property(no_resource))
    storage = S3Storage(bucket_name="b", endpoint_url="http://127.0.0.1:9", access_key="k",
                        secret_key="s", region_name="eu-west-1")
    store = backend_for(storage).manifest_store(MANIFEST)
    assert isinstance(store, S3ManifestStore)
    # One client for the store's requests, from the storage's own settings.
    client = store._client.get()
    assert client is store._client.get()
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"

