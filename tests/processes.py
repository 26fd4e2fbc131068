"""``manage.py collectstupid`` in a child process against the test S3 server: for
what only a real process shows (signals, exit statuses, what is left behind)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.helpers import MANIFEST

ROOT = Path(__file__).resolve().parent.parent


def deploy_process(
    target: Any,
    static_dir: Path,
    *args: str,
    backend: str | None = None,
    part_mb: int | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """``collectstupid --smart --profile full --threads 2`` (then ``args``) in a child
    process deploying to ``target`` (see tests/deploy_settings.py); ``backend`` replaces
    S3Storage, ``part_mb`` sets the multipart threshold and part size."""
    options = {k: v for k, v in target.options.items() if k != "client_config"}
    extra = {"COLLECTSTUPID_TEST_BACKEND": backend} if backend else {}
    if part_mb:
        extra["COLLECTSTUPID_TEST_PART_MB"] = str(part_mb)
    return command_process(
        "tests.deploy_settings", static_dir, options, *args, env={**extra, **(env or {})}
    )


def command_process(
    settings: str,
    static_dir: Path,
    options: dict[str, Any],
    *args: str,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """The command in a child process with the ``settings`` module, which reads the
    source folder and the storage's OPTIONS from the environment."""
    return subprocess.Popen(
        command_line(*args),
        cwd=ROOT,
        env=command_environ(settings, static_dir, options, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def command_environ(
    settings: str, static_dir: Path, options: dict[str, Any], env: dict[str, str] | None = None
) -> dict[str, str]:
    """The child's environment: ``settings`` with the source folder and OPTIONS given."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings,
        "COLLECTSTUPID_TEST_STATIC_DIR": str(static_dir),
        "COLLECTSTUPID_TEST_STORAGE": json.dumps(options),
        # A child that hangs is sent SIGABRT (see Watched.ended): faulthandler then
        # prints where each of its threads was.
        "PYTHONFAULTHANDLER": "1",
        **(env or {}),
    }


def command_line(*args: str) -> list[str]:
    """``collectstupid --noinput --smart --profile full --threads 2``, then ``args``."""
    return [
        sys.executable,
        "-m",
        "django",
        "collectstupid",
        "--noinput",
        "--smart",
        "--profile",
        "full",
        "--threads",
        "2",
        *args,
    ]


def wait_for_objects(target: Any, process: subprocess.Popen[str], count: int) -> None:
    """Until ``count`` files landed: the deploy manifest, written ahead of them in
    smart mode, is not one of them."""
    deadline = time.monotonic() + 30
    while len(target.keys() - {target.key(MANIFEST)}) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the deploy did not start uploading"
        time.sleep(0.05)


class Watched:
    """A child process whose stderr is read as it comes, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._done = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._done = True
            self._changed.notify_all()

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def wait_for(self, text: str, timeout: float = 30) -> None:
        """Block until a line of stderr contains ``text``."""

        def seen() -> bool:
            return any(text in line for line in self.lines)

        with self._changed:
            self._changed.wait_for(lambda: seen() or self._done, timeout)
            assert seen(), f"no {text!r} on stderr: {''.join(self.lines)}"

    def ended(self, timeout: float = 30) -> tuple[str, str]:
        """stdout and stderr once the process exits; if it does not, the test fails with
        the stack of each of its threads."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            try:
                self.process.wait(10)
            finally:
                if self.process.poll() is None:
                    self.process.kill()
                    self.process.wait()
            self._reader.join(10)
            raise AssertionError(
                f"still running {timeout} s on; its stderr, then its threads' stacks:\n"
                + "".join(self.lines)
            ) from None
        assert self.process.stdout is not None
        out = self.process.stdout.read()
        self._reader.join(timeout)
        return out, "".join(self.lines)
