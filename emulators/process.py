"""An emulator run as a child process on a free loopback port, stopped with the tests."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self

from s3local.ports import pick_ports
from s3local.process import spawn, terminate
from s3local.service import Service

_START_ATTEMPTS = 3


class EmulatorProcess(Service):
    """Subclasses say how to run the emulator (``command``) and where it answers once
    ready (``ready_url``); output goes to ``workdir/<name>.out``."""

    name = "emulator"

    def __init__(self, workdir: Path, startup_timeout: float = 30.0) -> None:
        self.workdir = Path(workdir)
        self.startup_timeout = startup_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def output_path(self) -> Path:
        return self.workdir / f"{self.name}.out"

    def start(self) -> Self:
        """Start and wait until ``ready_url`` answers; raise with the output's tail if not."""
        if self.running:
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = pick_ports(1, offset=0)[0]
            self._spawn()
            try:
                self._wait_ready()
                return self
            except RuntimeError:
                in_use = "in use" in self.log_tail().lower()
                self.stop()
                # Another process may take the port between our check and the bind.
                if not in_use or attempt == _START_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn(self) -> None:
        self._process = spawn(self.command(), self.workdir, self.output_path)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited during startup:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=1):
                    return
            except urllib.error.HTTPError:
                return  # an HTTP answer of any status: the server is up
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"{self.name} did not answer {self.ready_url} within "
            f"{self.startup_timeout:.0f}s:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if the process has not exited within ``timeout`` seconds."""
        process, self._process = self._process, None
        terminate(process, timeout)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.output_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return f"(no {self.name} output)"
        return "\n".join(text)
