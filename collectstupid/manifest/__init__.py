"""The deploy manifest: one object in the target storage that says what a run uploaded.

For each destination path it records the SHA-256 and size of the source file
that was written there. Smart mode reads it once before uploading and skips
files whose content it already records; it writes it once, last, when the
run changed something. The rules that keep it truthful are in publish.py;
the guarantees, for users, in the docs.

``entries`` is the format, ``store`` reading and writing it in a storage
(each backend may bring a store of its own), ``publish`` the merge and write.
"""

from collectstupid.manifest.entries import Entries, Entry, dumps, loads
from collectstupid.manifest.publish import Published, merge, publish
from collectstupid.manifest.store import ManifestStore, Snapshot, StorageManifestStore

__all__ = [
    "Entries",
    "Entry",
    "ManifestStore",
    "Published",
    "Snapshot",
    "StorageManifestStore",
    "dumps",
    "loads",
    "merge",
    "publish",
]
