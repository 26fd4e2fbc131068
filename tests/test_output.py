"""The one way out for a run's messages, and the rule that the steps take no other."""

from __future__ import annotations

import ast
import io
import os
import sys
from pathlib import Path

import pytest

from collectstupid.output import Output

PACKAGE = Path(__file__).resolve().parent.parent / "collectstupid"
COMMAND = PACKAGE / "management" / "commands" / "collectstupid.py"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Lines(io.StringIO):
    """Django's OutputWrapper as far as Output needs it: each write ends a line."""

    def write(self, msg: str) -> int:
        return super().write(msg if msg.endswith("\n") else msg + "\n")


def output(verbosity: int) -> tuple[Output, Lines, Lines]:
    out, err = Lines(), Lines()
    return Output(out, err, verbosity, lambda text: f"<warning>{text}</warning>"), out, err


@pytest.mark.parametrize("verbosity", [0, 1, 2, 3])
def test_each_level_speaks_from_its_verbosity_up(verbosity):
    out, stdout, stderr = output(verbosity)
    for level in range(4):
        out.say(f"level {level}", level)
    out.warn("careful")
    out.error("failed")
    said = [f"level {level}\n" for level in range(verbosity + 1)]
    assert stdout.getvalue() == "".join(said)
    # Warnings and errors are said at every verbosity, as collectstatic's are.
    assert stderr.getvalue() == "<warning>careful</warning>\nfailed\n"


def test_no_line_carries_credentials():
    out, stdout, stderr = output(2)
    url = "https://user:s3cret@proxy.example/b/k?X-Amz-Signature=abc123&x=1"
    out.say(f"Uploaded via {url}", 2)
    out.warn(f"could not delete: {url}")
    out.error(f"failed: {url}")
    text = stdout.getvalue() + stderr.getvalue()
    assert "s3cret" not in text and "abc123" not in text
    assert text.count("https://***@proxy.example/b/k?X-Amz-Signature=***&x=1") == 3


def test_lines_written_while_the_bar_shows_go_above_it(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    out, _, stderr = output(1)
    with out.progress(10, 1) as bar:
        drawn = screen.getvalue()
        assert "0/1 files" in drawn
        out.error("Failed to upload 'a.css'")
        # tqdm cleared its line (a carriage return) and drew the bar again below.
        after = screen.getvalue()[len(drawn) :]
        assert after.startswith("\r") and "0/1 files" in after
        bar.close()  # the uploads ended: later lines need no room made
        closed = screen.getvalue()
        out.error("Could not prune 'old.css'")
        assert screen.getvalue() == closed
    assert out.bar is None
    assert stderr.getvalue() == "Failed to upload 'a.css'\nCould not prune 'old.css'\n"


def test_at_verbosity_2_the_lines_are_the_progress_and_no_bar_is_drawn(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    out, stdout, _ = output(2)
    with out.progress(10, 1):
        out.say("Copying 'a.css'", level=2)
    assert screen.getvalue() == ""
    assert stdout.getvalue() == "Copying 'a.css'\n"


def writers(path: Path) -> list[str]:
    """What in a module writes to a stream other than through Output, or reaches the command."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        called = getattr(node.func, "id", None) if isinstance(node, ast.Call) else None
        if called in ("print", "input"):
            found.append(f"{called}()")
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("stdout", "stderr")
            and getattr(node.value, "id", None) == "sys"
        ):
            found.append(f"sys.{node.attr}")
        if isinstance(node, ast.ImportFrom) and "management" in (node.module or ""):
            found.append(f"import from {node.module}")
    return found


def test_no_step_writes_to_a_stream_itself_or_imports_the_command():
    # output.py is the way out; report.py's bar draws on stderr (a terminal only),
    # where Output makes room for the lines.
    allowed = {PACKAGE / "output.py": ["input()", "sys.stderr"]}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path != COMMAND:
            assert writers(path) == allowed.get(path, []), path


def test_a_reader_gone_before_the_last_flush_is_met_quietly_and_later_writes_vanish():
    """``collectstupid | head -3`` where the rest fits in the buffer: no write fails,
    only the flush at the end would, after the command, at interpreter exit."""
    from django.core.management.base import OutputWrapper

    read_end, write_end = os.pipe()
    stream = open(write_end, "w", buffering=64 * 1024)  # noqa: SIM115 (closed below)
    try:
        # As the command gives it: Django's wrapper, which on 4.2 hides the fileno().
        out = Output(OutputWrapper(stream), Lines(), verbosity=1)
        out.say("Copying 'css/site.css'")  # buffered: the pipe is not written yet
        os.close(read_end)  # the reader goes away
        with pytest.raises(BrokenPipeError):
            os.write(write_end, b"x")  # what a flush now meets
        out.flush()  # quiet
        out.say("1 static file copied")
        stream.flush()  # as the interpreter does at exit: the null device takes it
    finally:
        stream.close()
