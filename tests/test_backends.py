"""The backend interface: which implementation a storage gets, and the generic one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from storages.backends.azure_storage import AzureStorage
from storages.backends.s3 import S3StaticStorage, S3Storage
from storages.backends.s3boto3 import S3Boto3Storage

from collectstupid.azure.backend import AzureBackend
from collectstupid.backends import StorageBackend, backend_for
from collectstupid.collect import SourceFile
from collectstupid.manifest import StorageManifestStore
from collectstupid.output import describe_error
from collectstupid.s3.backend import S3Backend
from collectstupid.s3.errors import describe
from collectstupid.storage import stupid_class
from tests.helpers import OFFLINE_S3


class CustomSave(S3Storage):
    def _save(self, name, content):  # pragma: no cover - never called
        return super()._save(name, content)


@pytest.mark.parametrize(
    ("cls", "fast"),
    [
        (S3Storage, True),
        (S3StaticStorage, True),
        (stupid_class(S3Storage), True),
        (stupid_class(S3StaticStorage), True),
        (S3Boto3Storage, True),  # the name older settings still use
        (CustomSave, False),
        (stupid_class(CustomSave), False),
    ],
)
def test_s3_storages_get_the_s3_backend_fast_unless_they_save_their_own_way(cls, fast):
    backend = backend_for(cls(**OFFLINE_S3))
    assert isinstance(backend, S3Backend)
    assert backend.fast is fast


class AzureCustomSave(AzureStorage):
    def _save(self, name, content):  # pragma: no cover - never called
        return super()._save(name, content)


@pytest.mark.parametrize(
    ("cls", "fast"),
    [
        (AzureStorage, True),
        (stupid_class(AzureStorage), True),
        (AzureCustomSave, False),
        (stupid_class(AzureCustomSave), False),
    ],
)
def test_azure_storages_get_the_azure_backend_fast_unless_they_save_their_own_way(cls, fast):
    storage = cls(account_name="devstoreaccount1", account_key="a2V5", azure_container="c")
    backend = backend_for(storage)
    assert type(backend) is AzureBackend
    assert backend.fast is fast


# Run in a fresh interpreter: what a claim imports shows in its sys.modules.
PICK = """
import json, sys
import django
django.setup()
from django.core.files.storage import FileSystemStorage
from collectstupid.backends import backend_for
if sys.argv[1] == "azure":
    from storages.backends.azure_storage import AzureStorage
    storage = AzureStorage(account_name="a", account_key="a2V5", azure_container="c")
else:
    storage = FileSystemStorage(location=sys.argv[2])
backend = backend_for(storage)
print(json.dumps([type(backend).__name__, sorted(sys.modules)]))
"""


@pytest.mark.parametrize(
    ("target", "backend", "picked"),
    [
        ("local", "LocalBackend", "collectstupid.local"),
        ("azure", "AzureBackend", "collectstupid.azure.backend"),
    ],
)
def test_a_claim_imports_only_the_backend_it_picks(tmp_path, target, backend, picked):
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(root)}
    ran = subprocess.run(
        [sys.executable, "-c", PICK, target, str(tmp_path)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    name, modules = json.loads(ran.stdout.splitlines()[-1])
    assert name == backend
    assert picked in modules
    others = {
        "collectstupid.s3.backend",
        "collectstupid.azure.backend",
        "collectstupid.gcs.backend",
    }
    assert not (others - {picked}) & set(modules)
    assert not {"boto3", "botocore", "google.cloud.storage"} & set(modules)


def test_local_disk_gets_the_local_backend_unless_it_saves_its_own_way(tmp_path):
    from collectstupid.local import LocalBackend
    from tests.storages import FailingStorage

    backend = backend_for(stupid_class(FileSystemStorage)(location=tmp_path))
    assert type(backend) is LocalBackend
    assert isinstance(backend.manifest_store("m.json"), StorageManifestStore)
    backend = backend_for(stupid_class(FailingStorage)(location=tmp_path))
    assert type(backend) is StorageBackend


def test_the_generic_backend_writes_lists_and_deletes_through_the_storage(tmp_path):
    source_storage = FileSystemStorage(location=tmp_path / "src")
    source_storage.save("a.css", ContentFile(b"body{}"))
    target = stupid_class(FileSystemStorage)(location=tmp_path / "out")
    backend = StorageBackend(target)
    for dest in ("css/a.css", "css/deep/b.css", "c.css"):
        backend.write(SourceFile(dest, source_storage, "a.css", 6))
    assert sorted(backend.list_names()) == ["c.css", "css/a.css", "css/deep/b.css"]
    assert backend.delete_many(["css/a.css", "c.css"], threads=2) == {}
    assert sorted(backend.list_names()) == ["css/deep/b.css"]
    assert (tmp_path / "out/css/deep/b.css").read_bytes() == b"body{}"


def test_errors_are_named_by_type_and_s3_errors_by_code():
    assert describe_error(OSError("disk on fire")) == "OSError: disk on fire"
    error = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject"
    )
    assert describe(error) == "AccessDenied: Access Denied"
    assert describe(OSError("no")) == "OSError: no"
