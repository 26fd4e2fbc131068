"""The deploy manifest: one object in the target storage that says what each destination path
holds, so that smart mode skips what did not change. ``entries`` is its format, ``store``
reads and writes it in a storage, ``publish`` writes it before and after the uploads, and
``deploys`` keeps what each profile shipped, for --prune. See docs/smart-mode.md.
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
