"""Write a file as ``AzureStorage.save()`` does: one Put Blob with the content settings the
storage's own helpers give, a profile's object parameters over them and its ``Metadata`` as
blob metadata. See docs/storages.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.files.utils import validate_file_name

from collectstupid.collect import SourceFile
from collectstupid.media_types import chosen
from collectstupid.object_parameters import storage_names


def blob_name(storage: Any, name: str, ask: bool = True) -> str:
    """The blob ``storage.save(name)`` writes; ``ask=False`` skips ``get_available_name()``,
    which asks the container whether a name is free unless the storage overwrites."""
    if ask:
        validate_file_name(name, allow_relative_path=True)
        name = storage.get_available_name(name)
        validate_file_name(name, allow_relative_path=True)
    return str(storage._get_valid_path(name))  # the location joined, as _save() does


def properties(
    storage: Any, blob: str, extra: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """The content settings ``save()`` would send for ``blob``, the profile's
    parameters (``extra``, by S3's names) over them, and the blob's metadata."""
    # Asked of django-storages rather than copied, though private (as is _get_valid_path),
    # so the settings stay save()'s: tests/test_azure.py compares the two.
    settings = storage._get_content_settings_parameters(blob)
    if "content_type" not in storage.get_object_parameters(blob):
        # save() guessed it from the host's mimetypes: the package's table comes first.
        settings["content_type"] = chosen(blob, settings.get("content_type"))
    metadata = None
    if extra:
        own = storage_names(extra)
        metadata = own.pop("metadata", None)
        settings.update(own)
    return settings, metadata


def write(storage: Any, source: SourceFile) -> None:
    """One Put Blob for ``source`` (blocks above the SDK's single-put size, as ``save()``)."""
    from azure.storage.blob import ContentSettings

    blob = blob_name(storage, source.dest)
    settings, metadata = properties(storage, blob, source.parameters)
    with source.storage.open(source.path, "rb") as content:
        storage.client.upload_blob(
            blob,
            content.file if hasattr(content, "file") else content,
            content_settings=ContentSettings(**settings),
            metadata=metadata,
            max_concurrency=storage.upload_max_conn,
            timeout=storage.timeout,
            overwrite=storage.overwrite_files,
        )
