"""The deploy manifest: one object in the target storage that says what a run uploaded.

For each destination path it records the SHA-256 and size of the source file
that was written there. Smart mode reads it once before uploading and skips
files whose content it already records. A run that changes files writes it
twice: ahead of its uploads, to stop vouching for what it is about to
change, and after them, to record what landed (see publish.py).

``entries`` is the format, ``store`` reading and writing it in a storage
(each backend may bring a store of its own), ``publish`` the two writes,
``deploys`` what each profile shipped and what it no longer ships.
"""

from collectstupid.manifest.deploys import (
    Shipped,
    forget_deleted,
    record_deploy,
    record_of,
    records,
    whose,
)
from collectstupid.manifest.entries import (
    Contents,
    Entries,
    Entry,
    Pending,
    Record,
    dumps,
    loads,
)
from collectstupid.manifest.publish import Published, Run, announce, rewrite, settle
from collectstupid.manifest.store import ManifestStore, Snapshot, StorageManifestStore

__all__ = [
    "Contents",
    "Entries",
    "Entry",
    "ManifestStore",
    "Pending",
    "Published",
    "Record",
    "Run",
    "Shipped",
    "Snapshot",
    "StorageManifestStore",
    "announce",
    "dumps",
    "forget_deleted",
    "loads",
    "record_deploy",
    "record_of",
    "records",
    "rewrite",
    "settle",
    "whose",
]
