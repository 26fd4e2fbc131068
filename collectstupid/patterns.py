"""Gitignore-style patterns, each with its own letter-case rule, compiled once.

Case-insensitivity belongs to a pattern, not to the profile that ends up using
it: a profile that extends ``no-media`` and says ``ignore_case: false`` for its
own patterns must not make ``no-media``'s ``*.mp4`` miss ``CLIP.MP4``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pathspec


class PatternError(ValueError):
    """A pattern pathspec cannot compile; the message says what is wrong with it."""


@dataclass(frozen=True)
class Pattern:
    """One pattern and whether it matches in any letter case."""

    text: str
    ignore_case: bool = False

    def __str__(self) -> str:
        return self.text


def patterns(texts: Iterable[str], ignore_case: bool) -> tuple[Pattern, ...]:
    return tuple(Pattern(text, ignore_case) for text in texts)


@lru_cache(maxsize=4096)
def _compiled(pattern: Pattern) -> pathspec.Pattern | None:
    # Compiled once however many profiles inherit the pattern: a long `extends`
    # chain repeats its ancestors' patterns in every profile along it.
    try:
        compiled = pathspec.GitIgnoreSpec.from_lines([pattern.text]).patterns
    except (ValueError, TypeError, re.error) as exc:
        raise PatternError(_reason(pattern.text, exc)) from exc
    if not compiled:
        return None  # an empty line: it matches nothing, as in a .gitignore file
    first = compiled[0]
    regex = getattr(first, "regex", None)
    if pattern.ignore_case and regex is not None:
        # An inline flag, so every pathspec backend (re2, hyperscan too) honours it.
        first.regex = re.compile(f"(?i){regex.pattern}")
    return first


def _reason(text: str, exc: Exception) -> str:
    if isinstance(exc, re.error):
        return (
            f"{text!r} has a character range that cannot be read ({exc}); a range "
            "such as [a-z] goes from the lower to the higher character"
        )
    return f"{text!r} is not a valid pattern ({exc})"


def check(pattern: Pattern) -> None:
    """Raise PatternError when ``pattern`` cannot be compiled."""
    _compiled(pattern)


def spec(items: Iterable[Pattern]) -> pathspec.GitIgnoreSpec:
    """One spec over ``items`` in order: the last pattern that matches a path decides."""
    # pathspec's pattern classes (and their type names) differ across its releases.
    compiled: list[Any] = [c for p in items if (c := _compiled(p)) is not None]
    return pathspec.GitIgnoreSpec(compiled)


def yaml_hint(text: str) -> str:
    """Advice for a YAML error caused by an unquoted pattern, or "" when none applies."""
    for line in text.splitlines():
        item = line.strip().removeprefix("-").strip()
        if item[:1] in ("*", "!", "&", "[", "{") and not line.strip().startswith("#"):
            return (
                f" Quote patterns that start with '*', '!', '&', '[' or '{{' (for example "
                f'- "{item.split(" #")[0].strip()}"): unquoted, YAML reads them as its own '
                "syntax (an alias, a tag, an anchor, a list or a mapping)."
            )
    return ""
