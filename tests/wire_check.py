"""The session's check that the S3 behaviour tests run the path users get.

Every request of the session is counted at botocore's endpoint
(s3local/calls.py), and each test's small-file PutObjects and replayed ones are
added to its file. At the end, a file of behaviour tests (those using the
``s3_path`` fixture) that sent at least ``MIN_SMALL_PUTS`` small-file
PutObjects on the default path, and not one of them replayed, fails the run:
the suite would no longer test what a deploy sends by default.

Only tests on the default path that left ``COLLECTSTUPID["FAST_PATH"]`` alone
count, and a file counts only past ``MIN_SMALL_PUTS``: a ``-k`` selection of a
few tests that legitimately send everything through botocore (each request
shape is learned through botocore before it is replayed) does not fire it.

Under pytest-xdist each worker counts its own tests and the controller adds the
workers' files up before it decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from s3local import BotocoreCalls
from tests.s3_fixtures import DEFAULT_PATH, PINNED

# A deploy of this many small files on the default path replays some of them:
# replay learns each request shape from one file botocore sends.
MIN_SMALL_PUTS = 20
# Where an xdist worker hands its files to the controller.
OUTPUT_KEY = "collectstupid_wire_check"


@dataclass
class Sent:
    """A file's small-file PutObjects on the default path, and how many were replayed."""

    small_puts: int = 0
    replayed: int = 0


def counts_on_default_path(item: pytest.Item) -> bool:
    """Whether ``item`` is a behaviour test that deployed by the default path."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or callspec.params.get("s3_path") != DEFAULT_PATH:
        return False
    return not item.stash.get(PINNED, True)


class WireCheck:
    """Counts the whole session at the wire; fails it where replay went missing."""

    def __init__(self) -> None:
        self.calls = BotocoreCalls()
        self.files: dict[str, Sent] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        small, replayed = self.calls.small_puts, self.calls.replayed["PutObject"]
        yield
        if counts_on_default_path(item):
            sent = self.files.setdefault(item.location[0], Sent())
            sent.small_puts += self.calls.small_puts - small
            sent.replayed += self.calls.replayed["PutObject"] - replayed

    def missing(self) -> list[str]:
        """One line per file whose small-file PutObjects all went through botocore."""
        return [
            f"{path}: {sent.small_puts} small-file PutObjects on the default path, none replayed"
            for path, sent in sorted(self.files.items())
            if sent.small_puts >= MIN_SMALL_PUTS and not sent.replayed
        ]

    def pytest_sessionstart(self) -> None:
        # Before any client is made: a replay keeps the endpoint's _send it found.
        self.calls.start()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.calls.stop()
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            # An xdist worker: the controller adds up every worker's files and decides.
            workeroutput[OUTPUT_KEY] = {
                path: (sent.small_puts, sent.replayed) for path, sent in self.files.items()
            }
        elif self.missing() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """On the xdist controller: one worker's files, added to the session's."""
        for path, (small_puts, replayed) in node.workeroutput.get(OUTPUT_KEY, {}).items():
            sent = self.files.setdefault(path, Sent())
            sent.small_puts += small_puts
            sent.replayed += replayed

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        missing = self.missing()
        if missing:
            terminalreporter.write_sep("=", "S3 behaviour tests that never replayed a PutObject")
            for line in missing:
                terminalreporter.write_line(line)
        if terminalreporter.config.get_verbosity() >= 1 and self.files:
            terminalreporter.write_sep("-", "small-file PutObjects on the default path")
            for path, sent in sorted(self.files.items()):
                line = f"{path}: {sent.replayed} of {sent.small_puts} replayed"
                terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(WireCheck(), "collectstupid-wire-check")
