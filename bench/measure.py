"""Run one tool as a subprocess and measure its wall time and peak memory.

GNU time (`/usr/bin/time -v`) reports the child's maximum resident set size from
the kernel's rusage, which is exact and costs nothing. Where it is missing, psutil
polls the process tree every 50 ms: close enough for tools whose memory grows with
the files they hold, but it can miss a short spike.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

GNU_TIME = "/usr/bin/time"
TAIL_CHARS = 4000


@dataclass(frozen=True)
class Measured:
    returncode: int
    wall_s: float
    peak_rss_mb: float | None
    # User + system CPU seconds of the tool, when GNU time reports them.
    cpu_s: float | None
    rss_method: str
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self) -> str:
        return (self.stderr or self.stdout)[-TAIL_CHARS:]


def _gnu_time_works() -> bool:
    if not (os.path.exists(GNU_TIME) and os.access(GNU_TIME, os.X_OK)):
        return False
    # BusyBox and BSD time lack -v/-o; only GNU time prints the RSS line we parse.
    with tempfile.NamedTemporaryFile("r") as out:
        done = subprocess.run([GNU_TIME, "-v", "-o", out.name, "true"], capture_output=True)
        return done.returncode == 0 and "Maximum resident set size" in Path(out.name).read_text()


HAVE_GNU_TIME = _gnu_time_works()


def rss_method() -> str:
    return "GNU time -v (max RSS)" if HAVE_GNU_TIME else "psutil polling"


def _parse_gnu_time(text: str) -> tuple[float | None, float | None]:
    """(peak RSS in MB, user + system CPU seconds) from `time -v` output."""
    rss = None
    cpu = 0.0
    for line in text.splitlines():
        name, _, value = line.strip().rpartition(": ")
        if name == "Maximum resident set size (kbytes)":
            rss = int(value) / 1024
        elif name in ("User time (seconds)", "System time (seconds)"):
            cpu += float(value)
    return rss, (cpu if rss is not None else None)


def _poll_rss(pid: int, stop: threading.Event, peak: list[float]) -> None:
    import psutil

    try:
        proc = psutil.Process(pid)
        while not stop.is_set():
            procs = [proc, *proc.children(recursive=True)]
            total = 0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            peak[0] = max(peak[0], total / 1024 / 1024)
            stop.wait(0.05)
    except psutil.Error:
        return


def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    timeout: float | None = None,
) -> Measured:
    """Run `argv` to completion; wall time covers process start to exit.

    The child gets its own process group so a timeout ends the tool, not just
    the GNU time wrapper around it.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as time_out:
        wrapped = [GNU_TIME, "-v", "-o", time_out.name, *argv] if HAVE_GNU_TIME else list(argv)
        start = time.perf_counter()
        proc = subprocess.Popen(
            wrapped,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        stop = threading.Event()
        peak = [0.0]
        poller = None
        if not HAVE_GNU_TIME:
            poller = threading.Thread(target=_poll_rss, args=(proc.pid, stop, peak), daemon=True)
            poller.start()
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            stderr += f"\n[bench] killed after {timeout:.0f} s"
        finally:
            stop.set()
            if poller is not None:
                poller.join()
        wall = time.perf_counter() - start
        rss: float | None = peak[0] or None
        cpu = None
        if HAVE_GNU_TIME:
            rss, cpu = _parse_gnu_time(Path(time_out.name).read_text())
    return Measured(proc.returncode, wall, rss, cpu, rss_method(), stdout, stderr)


def which(name: str, near: Path) -> str | None:
    """Find an executable next to the bench's Python first, then on PATH."""
    beside = near / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def _cpu_of(pid: int) -> float | None:
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def child_pid(name: str) -> int | None:
    """The pid of this process's child named ``name`` (the S3 server), if psutil finds it."""
    try:
        import psutil
    except ImportError:
        return None
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.name() == name:
                return child.pid
    return None


class Load:
    """CPU seconds the S3 server and the proxy spend while a tool runs.

    The tool shares the machine's cores with both, so a tool that makes them
    work harder also slows itself down. The proxy runs on an event loop in this
    process, whose other threads only wait for the tool, so this process's own
    CPU time is the proxy's.
    """

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid

    def snapshot(self) -> tuple[float | None, float]:
        server = _cpu_of(self.server_pid) if self.server_pid else None
        return server, time.process_time()

    def since(self, before: tuple[float | None, float]) -> tuple[float | None, float]:
        """(server CPU s, proxy CPU s) since ``before``."""
        server, proxy = self.snapshot()
        server_s = None if server is None or before[0] is None else server - before[0]
        return server_s, proxy - before[1]


def load_avg() -> tuple[float, float, float] | None:
    """The machine's 1, 5 and 15-minute load averages, where the system tells."""
    try:
        return os.getloadavg()
    except OSError:
        return None


def load_1m() -> float | None:
    found = load_avg()
    return None if found is None else found[0]
