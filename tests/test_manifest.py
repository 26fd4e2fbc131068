"""The deploy manifest: its format, the merge rule, the conditional write, the S3 store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from storages.backends.s3 import S3Storage

from collectstupid import manifest
from collectstupid.backends import backend_for
from collectstupid.errors import ManifestError, ManifestFormatError
from collectstupid.manifest import (
    Contents,
    Entry,
    Pending,
    Run,
    Snapshot,
    announce,
    packed,
    rewrite,
    settle,
)
from collectstupid.manifest.entries import FORMAT, STALE_AFTER, VERSION
from collectstupid.s3.manifest import S3ManifestStore
from collectstupid.storage import target_storage
from tests.helpers import MANIFEST, bucket_manifest, entry

# --- the format ------------------------------------------------------------


def test_dumps_loads_round_trip_and_is_stable():
    entries = {"b.css": entry("b"), "a/é.js": entry("a")}
    pending = {"c.css": Pending({"run2": 2.5, "run1": 1}, contended=True)}
    data = manifest.dumps(Contents(entries, pending))
    assert manifest.loads(data) == Contents(entries, pending)
    assert manifest.dumps(Contents(dict(reversed(list(entries.items()))), pending)) == data
    assert data.startswith(packed.MAGIC)
    doc = json.loads(packed.unpack(data))
    assert doc["format"] == FORMAT
    assert doc["version"] == VERSION == 5


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "not written by collectstupid"),
        (b'{"files": {}}', "not written by collectstupid"),
        (json.dumps({"format": FORMAT, "version": 99, "files": {}}).encode(), "format version 99"),
        (
            json.dumps({"format": FORMAT, "version": 1, "files": []}).encode(),
            "'files', 'pending', 'profiles', 'projects' or 'invalidations_owed' is not a mapping",
        ),
        (
            json.dumps(
                {
                    "format": FORMAT,
                    "version": 2,
                    "files": {},
                    "pending": {"a": {"runs": {"r": "x"}, "contended": False}},
                }
            ).encode(),
            "pending entry for 'a'",
        ),
        (
            json.dumps(
                {"format": FORMAT, "version": 1, "files": {"a": {"sha256": "x", "size": 1}}}
            ).encode(),
            "entry for 'a'",
        ),
        (
            json.dumps(
                {"format": FORMAT, "version": 1, "files": {"a": {"sha256": "0" * 64, "size": True}}}
            ).encode(),
            "entry for 'a'",
        ),
    ],
)
def test_loads_rejects_anything_it_did_not_write(data, why):
    with pytest.raises(ManifestFormatError, match=why):
        manifest.loads(data)


# --- writing ahead and settling ---------------------------------------------

OLD, MINE, THEIRS = entry("old"), entry("mine"), entry("theirs")
A, B, C = Run("a", time.time()), Run("b", time.time()), Run("c", time.time())


def test_announcing_stops_vouching_and_marks_the_paths_pending():
    before = Contents({"css/a.css": OLD, "media/a.mp4": OLD})
    after = announce(before, A, ["css/a.css", "css/new.css"])
    assert after.entries == {"media/a.mp4": OLD}
    assert after.pending == {
        "css/a.css": Pending({"a": A.started}),
        "css/new.css": Pending({"a": A.started}),
    }


def test_settling_records_what_landed_and_forgets_what_did_not():
    announced = announce(Contents({"a": OLD, "b": OLD, "c": OLD, "keep": OLD}), A, "abc")
    # "b" failed (it may have half-landed); "c" was never started: neither is vouched for.
    after, conflicts = settle(announced, A, "abc", {"a": MINE})
    assert after == Contents({"a": MINE, "keep": OLD})
    assert conflicts == []


def test_two_runs_writing_one_path_at_once_leave_it_unvouched_whoever_ends_first():
    for first, second in ((A, B), (B, A)):
        contents = announce(announce(Contents({"x": OLD, "y": OLD}), A, ["x"]), B, ["x", "y"])
        assert contents.pending["x"].contended
        contents, conflicts = settle(
            contents, first, ["x"] if first is A else ["x", "y"], {"x": MINE, "y": MINE}
        )
        assert "x" not in contents.entries and conflicts == ["x"]
        contents, conflicts = settle(
            contents, second, ["x"] if second is A else ["x", "y"], {"x": THEIRS, "y": THEIRS}
        )
        assert "x" not in contents.entries and "x" not in contents.pending
        assert conflicts == ["x"]
        assert contents.entries["y"] in (MINE, THEIRS)


def test_a_run_that_came_and_went_meanwhile_is_not_forgotten():
    # B announces; C announces, uploads and settles before B ends. C's upload may
    # have landed after B's, so B must not vouch for its own bytes.
    contents = announce(Contents(), B, ["x"])
    contents = announce(contents, C, ["x"])
    contents, _ = settle(contents, C, ["x"], {"x": THEIRS})
    contents, conflicts = settle(contents, B, ["x"], {"x": MINE})
    assert "x" not in contents.entries and "x" not in contents.pending
    assert conflicts == ["x"]


def test_markers_of_dead_runs_are_ignored_after_a_while():
    dead = Run("dead", time.time() - STALE_AFTER - 1)
    contents = announce(Contents(), dead, ["x"])  # killed: never settles
    contents = announce(contents, A, ["x"])
    assert not contents.pending["x"].contended
    contents, conflicts = settle(contents, A, ["x"], {"x": MINE})
    assert contents == Contents({"x": MINE}) and conflicts == []


def test_a_run_whose_marker_was_taken_for_dead_vouches_only_for_the_same_bytes():
    contents = Contents({"x": THEIRS, "y": MINE})  # another run judged A dead and settled
    after, conflicts = settle(contents, A, ["x", "y"], {"x": MINE, "y": MINE})
    assert after.entries == {"y": MINE} and conflicts == ["x"]


class FakeStore:
    """An in-memory store; ``before_write`` lets a test play another run."""

    name = MANIFEST

    def __init__(self, contents: Contents | None = None) -> None:
        self.data = (
            manifest.dumps(Contents(contents.entries, contents.pending)) if contents else None
        )
        self.version = 0
        self.writes = 0
        self.reads = 0
        self.before_write: Callable[[], None] | None = None

    def read(self) -> Snapshot:
        self.reads += 1
        if self.data is None:
            return Snapshot()
        contents = manifest.loads(self.data)
        return Snapshot(contents.entries, contents.pending, str(self.version), found=True)

    def put(self, contents: Contents) -> None:
        self.data = manifest.dumps(Contents(contents.entries, contents.pending))
        self.version += 1

    def write(self, data: bytes, expected: Snapshot) -> str | None:
        if self.before_write:
            hook, self.before_write = self.before_write, None
            hook()
        current = str(self.version) if self.data is not None else None
        if current != expected.token:
            return None
        self.data = data
        self.version += 1
        self.writes += 1
        return str(self.version)


def settling(run: Run, announced: list[str], uploaded: dict[str, Entry]) -> Any:
    return lambda contents: settle(contents, run, announced, uploaded)


def test_a_rewrite_that_changes_nothing_writes_nothing():
    store = FakeStore(Contents({"a": OLD}))
    published, _ = rewrite(store, store.read(), settling(A, [], {}))
    assert not published.written
    assert store.writes == 0


def test_a_rewrite_applies_itself_again_onto_what_another_run_wrote():
    store = FakeStore(announce(Contents({"media/a.mp4": OLD}), A, ["css/a.css"]))
    current = store.read()
    store.before_write = lambda: store.put(Contents({"media/a.mp4": THEIRS}, dict(current.pending)))
    published, written = rewrite(store, current, settling(A, ["css/a.css"], {"css/a.css": MINE}))
    assert published.written and published.attempts == 2
    assert manifest.loads(store.data) == Contents({"css/a.css": MINE, "media/a.mp4": THEIRS})
    assert written.token == str(store.version)  # the next conditional write needs no read


def test_a_refused_write_that_had_landed_counts_as_written():
    class Landed(FakeStore):
        # The first write lands but its answer is lost; the retry is refused by it.
        def write(self, data: bytes, expected: Snapshot) -> str | None:
            if self.writes == 0:
                super().write(data, expected)
                return None
            return super().write(data, expected)

    store = Landed(announce(Contents({"a": OLD}), A, ["a"]))
    published, _ = rewrite(store, store.read(), settling(A, ["a"], {"a": MINE}))
    assert published.written and published.attempts == 1
    assert manifest.loads(store.data) == Contents({"a": MINE})


def test_a_rewrite_gives_up_after_a_few_conflicts():
    class Busy(FakeStore):
        def write(self, data: bytes, expected: Snapshot) -> str | None:
            return None  # another run always wrote first

    busy = Busy(Contents())
    with pytest.raises(ManifestError, match="3 attempts"):
        rewrite(busy, busy.read(), lambda c: (announce(c, A, ["a"]), []), attempts=3)
    assert busy.reads == 1 + 3


def test_s3_racing_runs_of_different_content_drop_the_entry(s3_storage_settings):
    store = backend_for(target_storage()).manifest_store(MANIFEST)
    assert isinstance(store, S3ManifestStore)
    assert store.key == s3_storage_settings.key(MANIFEST)
    rewrite(store, store.read(), lambda c: (Contents({"app.js": OLD, "logo.png": OLD}), []))
    # Two commits both upload app.js at once: nobody knows whose PUT landed last.
    _, run_a = rewrite(store, store.read(), lambda c: (announce(c, A, ["app.js"]), []))
    _, run_b = rewrite(store, store.read(), lambda c: (announce(c, B, ["app.js", "logo.png"]), []))
    first, _ = rewrite(store, run_a, settling(A, ["app.js"], {"app.js": MINE}))
    second, _ = rewrite(
        store, run_b, settling(B, ["app.js", "logo.png"], {"app.js": THEIRS, "logo.png": THEIRS})
    )
    # Each final write finds the other's change since it last wrote, and merges.
    assert first.written and first.attempts == 2 and first.conflicts == ("app.js",)
    assert second.written and second.attempts == 2 and second.conflicts == ("app.js",)
    assert bucket_manifest(s3_storage_settings) == {"logo.png": THEIRS}


def test_the_s3_manifest_store_makes_a_plain_client_not_the_storages_resource(monkeypatch):
    def no_resource(self: Any) -> Any:
        raise AssertionError("the storage's boto3 resource was built")

    monkeypatch.setattr(S3Storage, "connection", property(no_resource))
    storage = S3Storage(
        bucket_name="b",
        endpoint_url="http://127.0.0.1:9",
        access_key="k",
        secret_key="s",
        region_name="eu-west-1",
    )
    store = backend_for(storage).manifest_store(MANIFEST)
    assert isinstance(store, S3ManifestStore)
    # One client for the store's requests, from the storage's own settings.
    client = store._client.get()
    assert client is store._client.get()
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"


def test_a_version_1_manifest_is_still_read():
    data = json.dumps(
        {"format": FORMAT, "version": 1, "files": {"a.css": {"sha256": "0" * 64, "size": 3}}}
    ).encode()
    assert manifest.loads(data) == Contents({"a.css": Entry("0" * 64, 3)})


# Today's manifest before format 5: plain JSON, an object per path.
VERSION_4 = {
    "format": FORMAT,
    "version": 4,
    "location": "s3://bucket/static",
    "files": {
        "css/a.css": {"sha256": "a" * 64, "size": 3, "parameters": "0123456789abcdef"},
        "js/b.js": {"sha256": "b" * 64, "size": 0},
    },
    "pending": {"img/c.png": {"runs": {"run1": 1.5}, "contended": False}},
    "projects": {
        "site.settings": {
            "full": {"ships": ["css/a.css", "js/b.js"], "hashed": [["js/b.js"]], "stale": ["x"]}
        }
    },
    "invalidations_owed": {"cloudfront:E2": ["css/a.css"]},
}
VERSION_4_CONTENTS = Contents(
    {"css/a.css": Entry("a" * 64, 3, "0123456789abcdef"), "js/b.js": Entry("b" * 64, 0)},
    {"img/c.png": Pending({"run1": 1.5})},
    {},
    {
        "site.settings": {
            "full": manifest.Record(
                frozenset({"css/a.css", "js/b.js"}), (frozenset({"js/b.js"}),), frozenset({"x"})
            )
        }
    },
    "s3://bucket/static",
    {"cloudfront:E2": frozenset({"css/a.css"})},
)


def test_a_version_4_manifest_is_read_and_rewritten_as_version_5():
    contents = manifest.loads(json.dumps(VERSION_4).encode())
    assert contents == VERSION_4_CONTENTS
    data = manifest.dumps(contents)
    assert json.loads(packed.unpack(data))["version"] == 5
    assert manifest.loads(data) == VERSION_4_CONTENTS


def test_version_5_keeps_many_paths_in_columns_a_fraction_of_version_4():
    entries = {
        f"app/css/d{i // 500:03d}/item-{i:06d}.css": entry(f"body {{ margin: {i}px }}")
        for i in range(20_000)
    }
    entries["app/ünï.js"] = Entry("c" * 64, 12, "feedfacefeedface")
    data = manifest.dumps(Contents(entries))
    assert manifest.loads(data).entries == entries
    table = json.loads(packed.unpack(data))["files"]
    assert table["digests"] == ["feedfacefeedface"]
    assert table["parameters"].count(0) == 1 and table["parameters"].count(None) == 20_000
    as_version_4 = json.dumps(
        {
            "format": FORMAT,
            "version": 4,
            "files": {p: {"sha256": e.sha256, "size": e.size} for p, e in entries.items()},
        }
    ).encode()
    assert len(data) * 3 < len(as_version_4)


def packed_doc(**files: object) -> bytes:
    table = packed.columns([("a.css", "a" * 64, 3, "0123456789abcdef")])
    return packed.pack(
        json.dumps({"format": FORMAT, "version": 5, "files": {**table, **files}}).encode()
    )


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (manifest.dumps(Contents({"a.css": entry("a")}))[:-9], "compressed data ends early"),
        (
            manifest.dumps(Contents({"a.css": entry("a")}))[:12] + b"\xff" * 20,
            "compressed data is damaged",
        ),
        (packed.pack(b"{not json"), "not valid JSON"),
        (packed_doc(sizes=[3, 4]), "columns of its 'files' table differ in length"),
        (packed_doc(sha256="!!"), "column of hashes is not base64"),
        (packed_doc(sha256="AAAA"), "column of hashes is cut short"),
        (packed_doc(sizes=[-1]), "entry for 'a.css' is malformed"),
        (packed_doc(parameters=[1]), "entry for 'a.css' is malformed"),
        (packed_doc(digests=["XYZ"]), "table of parameters' hashes is malformed"),
        (packed_doc(paths=None), "'files' table lacks a column"),
        (
            packed.pack(json.dumps({"format": FORMAT, "version": 5, "files": []}).encode()),
            "not a mapping",
        ),
    ],
)
def test_a_version_5_manifest_in_doubt_is_rejected_whole(data, why):
    with pytest.raises(ManifestFormatError, match=why):
        manifest.loads(data)


def test_a_version_5_manifest_naming_a_path_twice_is_rejected():
    table = packed.columns([("a.css", "a" * 64, 3, None), ("a.css", "b" * 64, 4, None)])
    data = packed.pack(json.dumps({"format": FORMAT, "version": 5, "files": table}).encode())
    with pytest.raises(ManifestFormatError, match=r"entry for 'a\.css' is malformed"):
        manifest.loads(data)


def test_a_small_object_that_unpacks_to_too_much_is_refused(monkeypatch):
    monkeypatch.setattr(packed, "MAX_UNPACKED", 1000)
    with pytest.raises(ManifestFormatError, match="unpacks to more than 1 GiB"):
        manifest.loads(packed.pack(b" " * 2000))


def test_a_forced_run_takes_over_the_markers_of_others():
    contents = announce(Contents(), B, ["x", "y"])  # B was killed
    contents = announce(contents, A, ["x"], take_over=True)
    assert contents.pending["x"] == Pending({"a": A.started})
    assert contents.pending["y"] == Pending({"b": B.started})  # not A's to take
    contents, conflicts = settle(contents, A, ["x"], {"x": MINE})
    assert contents.entries == {"x": MINE} and conflicts == []
