"""Azurite's blob service (npm ``azurite``) in memory, run with the machine's Node.js."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from emulators.process import EmulatorProcess

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

ROOT = Path(__file__).resolve().parent.parent
# Where dev.py installs the pinned Azurite (git-ignored).
TOOLS = ROOT / ".tools"
BLOB_MAIN = Path("node_modules", "azurite", "dist", "src", "blob", "main.js")
# Azurite's one built-in account; every request is signed with this key.
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzuriteNotFound(RuntimeError):
    """Node.js or the Azurite package is missing."""


def find_azurite() -> tuple[str, Path]:
    """``node`` and Azurite's blob entry point, as dev.py installs them."""
    node = shutil.which("node")
    if node is None:
        raise AzuriteNotFound("Node.js ('node') is not on PATH; the Azure tests need it.")
    main = TOOLS / BLOB_MAIN
    if not main.is_file():
        raise AzuriteNotFound(
            f"Azurite is not installed in {TOOLS}; run 'python3 dev.py test' (it installs "
            "the pinned version with npm)."
        )
    return node, main


class AzuriteServer(EmulatorProcess):
    """Blob service only, data in memory, loose mode (unknown headers are ignored, as
    a client newer than the emulator may send some) and any API version accepted."""

    name = "azurite"
    account = ACCOUNT
    key = KEY

    def command(self) -> list[str]:
        node, main = find_azurite()
        return [
            node,
            str(main),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
            "--inMemoryPersistence",
            "--extentMemoryLimit",
            "1024",
            "--loose",
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
            "--disableTelemetry",
            "--silent",
        ]

    def endpoint_url(self, port: int | None = None) -> str:
        """The account's blob endpoint here, or on ``port`` (a proxy in front)."""
        return f"http://127.0.0.1:{port or self.port}/{self.account}"

    def connection_string(self, port: int | None = None) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
            f"BlobEndpoint={self.endpoint_url(port)};"
        )

    def client(self, port: int | None = None) -> BlobServiceClient:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string(port))

    def create_container(self, name: str) -> str:
        self.client().create_container(name)
        return name
