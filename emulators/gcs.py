"""``gcp-storage-emulator`` (PyPI) in memory: Google Cloud Storage's JSON API on loopback."""

from __future__ import annotations

import json
import sys
import urllib.request

from emulators.process import EmulatorProcess

PROJECT = "collectstupid-tests"


class GcsServer(EmulatorProcess):
    """Clients reach it through ``STORAGE_EMULATOR_HOST`` with anonymous credentials.

    It serves one request at a time (Python's plain ``HTTPServer``) and closes
    each connection after answering, so requests from parallel workers queue.
    """

    name = "gcs"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gcp_storage_emulator",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--in-memory",
            "--quiet",
        ]

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_bucket(self, name: str) -> str:
        request = urllib.request.Request(
            f"{self.endpoint_url}/storage/v1/b?project={PROJECT}",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            pass
        return name
