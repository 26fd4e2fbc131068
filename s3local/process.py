"""Start and stop a server as a child process that dies with the test run."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import threading
from pathlib import Path


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, so a killed test run leaves no server."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def spawn(
    command: list[str], cwd: Path, output: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Run ``command`` in ``cwd`` with stdout and stderr appended to ``output``."""
    with output.open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Own session: a terminal's Ctrl-C reaches our handler, which
            # stops the server in order, instead of hitting both at once.
            start_new_session=True,
            # The death signal follows the creating thread, so only tie it
            # to the main thread, which lives as long as the process.
            preexec_fn=_die_with_parent
            if threading.current_thread() is threading.main_thread()
            else None,
        )


def terminate(process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
