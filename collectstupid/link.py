"""``--link``: symlinks to the source files instead of copies, as collectstatic makes them.

Only a storage with local paths can hold a symlink; any other refuses the
option before anything is written. Files that exist only in the staging
folder (hashed copies, rewritten originals) are copied as usual: the folder
is gone once the run ends, and a link into it would dangle.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from django.core.files.storage import Storage

from collectstupid.collect import SourceFile
from collectstupid.upload import UPLOADED, Writer


def link_writer(storage: Storage, originals: Iterable[SourceFile], copy: Writer) -> Writer:
    """Link each of ``originals`` into ``storage``; hand any other file to ``copy``."""
    linkable = {id(source) for source in originals}

    def write(source: SourceFile) -> str | None:
        if id(source) not in linkable:
            return copy(source)
        try:
            target = source.storage.path(source.path)
        except NotImplementedError:
            return copy(source)  # a finder with remote files: nothing local to link to
        full_path = storage.path(source.dest)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        # A file, or a link from an earlier run, is replaced, never written through.
        if os.path.lexists(full_path):
            os.unlink(full_path)
        os.symlink(os.path.abspath(target), full_path)
        return UPLOADED

    return write
