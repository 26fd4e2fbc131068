"""Where a run's messages go. The steps say what happened through an :class:`Output`;
only it writes to the command's streams, applies the verbosity and the warning style,
takes credentials out of every line (redact.py), and keeps lines from garbling the
progress bar.

(Signal handlers are the exception: they write to the file descriptor directly, see
interrupt.py.)

A stream whose reader went away (``collectstupid -v 2 | head -3``) is a quiet
reader, as for any Unix tool: the run finishes without writing to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from collectstupid.redact import redact
from collectstupid.report import ProgressBar


class Stream(Protocol):
    """What Django's ``OutputWrapper`` offers: a write that ends the line."""

    def write(self, msg: str, /) -> object: ...


class Output:
    def __init__(
        self,
        stdout: Stream,
        stderr: Stream,
        verbosity: int,
        warning_style: Callable[[str], str] = str,
    ) -> None:
        self._stdout = stdout
        self._stderr = stderr
        self.verbosity = verbosity
        self.warning_style = warning_style
        self.bar: ProgressBar | None = None
        # Every warning of the run, redacted, for the CI job summary (github_actions.py).
        self.warnings: list[str] = []
        # The run's section of the CI job summary is written (github_actions.py).
        self.ci_reported = False
        # Streams whose reader is gone (by id: Django's wrappers are not hashable by value).
        self._gone: set[int] = set()

    def say(self, text: str, level: int = 1) -> None:
        """To stdout from verbosity ``level`` up: 1 the summary, 2 a line per file, 3 debug;
        0 at every verbosity, for what the user asked to see (--list-profiles)."""
        if self.verbosity >= level:
            self._write(self._stdout, text)

    def warn(self, text: str) -> None:
        """To stderr in the warning style: the run goes on, but something needs a look."""
        self.warnings.append(redact(text))
        self._write(self._stderr, self.warning_style(text))

    def error(self, text: str) -> None:
        """To stderr, plain: something failed (a file, a delete, the report)."""
        self._write(self._stderr, text)

    def ask(self, question: str) -> str:
        return input(question)

    @contextmanager
    def progress(self, total_bytes: int, total_files: int) -> Iterator[ProgressBar]:
        """The bar on a terminal at -v 1, closed when the block ends if not before; lines
        written while it shows go above it."""
        # At -v 2 a line per file is the progress: a bar between them would only garble them.
        bar = self.bar = ProgressBar(total_bytes, total_files, enabled=self.verbosity == 1)
        try:
            yield bar
        finally:
            bar.close()
            self.bar = None

    def _write(self, stream: Stream, text: str) -> None:
        if id(stream) in self._gone:
            return
        # Every line, not only errors: a failed delete or a warning may quote a URL too.
        # A file name that is not UTF-8 is shown escaped, never left to fail the stream.
        text = redact(text).encode("utf-8", "backslashreplace").decode("utf-8")
        try:
            if self.bar is None:
                stream.write(text)
                return
            with self.bar.hidden():
                stream.write(text)
        except BrokenPipeError:
            self._gone.add(id(stream))
            discard_later_writes(stream)


def discard_later_writes(stream: object) -> None:
    """Point ``stream``'s file descriptor at the null device.

    What its buffer still holds is then flushed there at exit, instead of
    failing again with a second broken pipe the interpreter would report.
    """
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return  # not a file (a StringIO): nothing is flushed at exit
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)
