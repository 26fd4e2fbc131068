"""Where a run's messages go: only :class:`Output` writes to the command's streams. It
applies the verbosity and the warning style, takes credentials out of every line and
escapes the control characters a file name, key or server message may carry
(``Output.printable``), keeps lines from garbling the progress bar, and treats a stream
whose reader went away (``collectstupid -v 2 | head -3``) as a quiet reader. Signal
handlers write to the file descriptor directly (execute.py). The JSON report is written
here too (``write_json``), redacted as every line is.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from collectstupid.errors import CollectStupidError, ReportError


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
        # Warnings about the run as a whole, said after its per-file lines (warn_later).
        self._later: list[str] = []
        # Streams whose reader is gone (by id: Django's wrappers are not hashable by value).
        self._gone: set[int] = set()
        # The run's names that need escaping, as each is shown (see ``know``).
        self.names: dict[str, str] = {}

    def know(self, names: Iterable[str]) -> None:
        """Learn the names (files, keys) this run may show: a line break inside one of
        them is then shown escaped, where the line breaks of a message stay breaks."""
        for name in names:
            if _IN_NAME.search(name):
                self.names[name] = escape_name(name)

    def printable(self, text: str) -> str:
        """``text`` as it may be shown: credentials out, control characters escaped, and
        no line starting with a workflow command (see ``printable``)."""
        return printable(redact(text), self.names)

    def say(self, text: str, level: int = 1) -> None:
        """To stdout from verbosity ``level`` up: 1 the summary, 2 a line per file, 3 debug;
        0 at every verbosity, for what the user asked to see (--list-profiles)."""
        if self.verbosity >= level:
            self._write(self._stdout, self.printable(text))

    def command(self, line: str) -> None:
        """A workflow command for the CI runner (github_actions.py escapes its data), to
        stdout at every verbosity: the one kind of line that may start with ``::``."""
        self._write(self._stdout, redact(line))

    def warn(self, text: str) -> None:
        """To stderr in the warning style: the run goes on, but something needs a look."""
        self.warnings.append(redact(text))
        self._write(self._stderr, self.warning_style(self.printable(text)))

    def warn_later(self, text: str) -> None:
        """A warning about the run as a whole, said once the per-file lines are out (just
        before the summary line, or as the run stops), where a long listing cannot
        scroll it out of sight."""
        self._later.append(text)

    def warn_pending(self) -> None:
        """Say the warnings kept by ``warn_later``."""
        later, self._later = self._later, []
        for text in later:
            self.warn(text)

    def error(self, text: str) -> None:
        """To stderr, plain: something failed (a file, a delete, the report)."""
        self._write(self._stderr, self.printable(text))

    def ask(self, question: str) -> str:
        return input(question)

    def flush(self) -> None:
        """Send what the streams still buffer, at the end of a run: a reader gone since
        the last write that failed is then met here, quietly, and not by the
        interpreter's own flush at exit (which would print an error and exit 120)."""
        self.warn_pending()  # a run that stopped before its summary line still says them
        for stream in (self._stdout, self._stderr):
            flush = getattr(stream, "flush", None)
            if id(stream) in self._gone or flush is None:
                continue
            try:
                flush()
            except BrokenPipeError:
                self._gone.add(id(stream))
                discard_later_writes(stream)

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
    # Django 4.2's OutputWrapper answers fileno() from io.TextIOBase (unsupported)
    # instead of from the stream it wraps; later versions pass it through.
    for candidate in (stream, getattr(stream, "_out", None)):
        try:
            fd = candidate.fileno()  # type: ignore[union-attr]
            break
        except (AttributeError, OSError, ValueError):
            continue
    else:
        return  # not a file (a StringIO): nothing is flushed at exit
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


HIDDEN = "***"


# scheme://user[:password]@ : everything between the scheme and the last @ of
# the authority (a password may itself contain @ once percent-decoded).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#'\"<>]*@")


# Query parameters that sign or authorise a request (SigV4, SigV2, SAS, tokens).
_SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|signature"
    r"|awsaccesskeyid|sig|token|access_token|x-goog-signature|x-goog-credential)=)[^&\s'\"<>#]*"
)


def redact(text: str) -> str:
    """``text`` with credentials in URLs replaced by ``***``."""
    text = _USERINFO.sub(rf"\1{HIDDEN}@", text)
    return _SECRET_PARAMS.sub(rf"\1{HIDDEN}", text)


# What a name must not carry onto a line as is: C0 controls (line feed included), DEL,
# C1 controls (NEL among them), the Unicode line and paragraph separators, and the lone
# surrogates a file name that is not UTF-8 decodes to; and the bidirectional formatting
# characters, which reorder what a reader sees on the line (a name that shows as
# "exe.css" may hold "css.exe").
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_IN_NAME = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_BIDI}]")
# The same within a message, whose own line breaks stay.
_IN_TEXT = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff{_BIDI}]")
# Where a CI runner reads a workflow command the tool did not mean: "::" opening a line
# (after any blank space, which GitHub's runner skips) and the older "##[" anywhere.
_COMMAND = re.compile(r"^(\s*):(?=:)|(##)\[", re.MULTILINE)


def _escaped(match: re.Match[str]) -> str:
    # As Python writes it in a string literal (\n, \r, \x1b, \u2028), which is how a
    # name that is not UTF-8 is shown too (\udcff), and how --verify shows names.
    return repr(match.group())[1:-1]


def _defused(match: re.Match[str]) -> str:
    if match.group(2):
        return "##\\x5b"
    return match.group(1) + "\\x3a"


def escape_name(name: str) -> str:
    """``name`` on one line, every control character shown as its escape (``\\n``)."""
    return _IN_NAME.sub(_escaped, name)


def printable(text: str, names: Mapping[str, str] | None = None) -> str:
    """``text`` safe to put on a terminal or a CI log: each of ``names`` (raw to escaped)
    shown escaped, every other control character escaped but the line feeds that end
    the message's own lines, and nothing a CI runner takes for a workflow command.

    Every line that may carry a file name, a key or a server message passes here once.
    """
    names = names or {}
    # Longest first: a name may hold another (a folder's name and a file's in it).
    for raw in sorted(names, key=len, reverse=True):
        text = text.replace(raw, names[raw])
    return _COMMAND.sub(_defused, _IN_TEXT.sub(_escaped, text))


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a failed request or write, without credentials."""
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, CollectStupidError) and type(exc).__name__ not in text:
        # Our own errors are written for people; a library's needs its type to be read.
        text = f"{type(exc).__name__}: {text}"
    return redact(text)


def terminal_width(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


# "46/134 files, 3.2MB of 3.3MB (96%) |█████▋| 00:02<00:00, 1.4MB/s"
BAR_FORMAT = (
    "{desc}, {n_fmt}B of {total_fmt}B ({percentage:.0f}%) |{bar}| {elapsed}<{remaining}, {rate_fmt}"
)


class ProgressBar:
    """A bar on stderr when it is a terminal: files, bytes, rate, time left."""

    def __init__(
        self, total_bytes: int, total_files: int, enabled: bool, stream: IO[str] | None = None
    ) -> None:
        stream = stream or sys.stderr
        self.enabled = enabled and stream.isatty()
        self.files = 0
        self.total_files = total_files
        self._bar = None
        if self.enabled:
            # Imported only for a terminal: most deploys run without one (CI, scripts).
            from tqdm import tqdm

            width = terminal_width(stream)
            self._bar = tqdm(
                total=total_bytes,
                unit="B",
                unit_scale=True,
                unit_divisor=1000,
                file=stream,
                leave=False,
                desc=f"0/{total_files} files",
                # The percentage is of bytes (what sets the time left), so it stands
                # beside the bytes rather than beside the file count.
                bar_format=BAR_FORMAT,
                # Follow resizes, unless the terminal reports no size (a pty
                # nobody sized): tqdm would then draw nothing at all.
                dynamic_ncols=width > 0,
                ncols=None if width > 0 else 80,
                nrows=None if width > 0 else 24,
            )

    @contextlib.contextmanager
    def hidden(self) -> Iterator[None]:
        """Clear the bar while the caller prints a line, then draw it again below."""
        if self._bar is None:
            yield
            return
        with self._bar.external_write_mode(file=self._bar.fp):
            yield

    def update(self, size: int) -> None:
        """One more file done, of ``size`` bytes."""
        self.files += 1
        if self._bar is not None:
            self._bar.set_description_str(f"{self.files}/{self.total_files} files", refresh=False)
            self._bar.update(size)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None  # lines written after it need no room made


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write the report whole, so a reader never sees half of it, credentials out of every
    string in it (an output boundary, as the terminal is)."""
    data = redacted(data)
    tmp = path.with_name(path.name + ".tmp")
    try:
        # Written as it is encoded: never the whole text in memory as well as the data.
        with tmp.open("w", encoding="utf-8") as file:
            json.dump(data, file, indent=2)
            file.write("\n")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"The report could not be written to {path}: {exc}.") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)  # stopped half-way: no partial file left behind
        raise


def redacted(value: Any) -> Any:
    """``value`` with ``redact`` applied to every string in it, keys included."""
    if isinstance(value, dict):
        return {redacted(k): redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return redact(value) if isinstance(value, str) else value
