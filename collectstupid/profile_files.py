"""Profile files: where they are, and each one read and checked on its own.

A profile is one YAML file; its name is the file name without the extension.
Built-in profiles ship with the package; a project's own files (the
``COLLECTSTUPID["PROFILES"]`` setting) override them by name. A problem in one
file is that file's problem: it is kept with the file's name, so a run that
uses another profile can go on (see profiles.Catalog).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from collectstupid.conf import get_settings
from collectstupid.errors import ProfileError, SettingsError
from collectstupid.object_parameters import KEY, RuleError, read_rules
from collectstupid.patterns import Pattern, PatternError, check, yaml_hint

BUILTIN = "built-in"
KEYS = frozenset(
    {
        "description",
        "extends",
        "complement_of",
        "include",
        "exclude",
        "ignore_case",
        "smart",
        KEY,
    }
)
YAML_SUFFIXES = (".yaml", ".yml")


def builtin_dir() -> Path:
    """Where the built-in profiles live.

    In a wheel they are packaged inside the app; in a source checkout (an
    editable install) they stay in the repository's top-level ``profiles/``.
    """
    packaged = Path(__file__).parent / "profiles"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "profiles"


@dataclass(frozen=True)
class RawProfile:
    """A profile as read from YAML, before ``extends`` is resolved."""

    name: str
    origin: str
    data: Mapping[str, Any]

    @property
    def depends_on(self) -> str | None:
        """The one profile this one is built from, if any."""
        return self.data.get("extends") or self.data.get("complement_of")


@dataclass(frozen=True)
class BrokenFile:
    """A profile file that cannot be used, and why."""

    name: str
    origin: str
    error: ProfileError


def read_profile_file(path: Path) -> RawProfile:
    """Read and validate one profile file; every problem names the file."""
    name = path.stem
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"Cannot read profile file {path}: {exc.strerror or exc}.") from exc
    except UnicodeDecodeError as exc:
        raise ProfileError(f"Profile file {path} is not UTF-8 text: {exc}.") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(
            f"Profile file {path} is not valid YAML: {_yaml_problem(exc)}.{yaml_hint(text)}"
        ) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProfileError(
            f"Profile file {path} must hold a mapping with the keys "
            f"{', '.join(sorted(KEYS))}; it holds a {type(data).__name__}."
        )
    unknown = sorted(str(k) for k in data if k not in KEYS)
    if unknown:
        raise ProfileError(
            f"Profile file {path} has unknown key(s): {', '.join(unknown)}. "
            f"Known keys: {', '.join(sorted(KEYS))}."
        )
    for key in ("description", "extends", "complement_of"):
        if key in data and not isinstance(data[key], str):
            raise ProfileError(
                f"Profile file {path}: '{key}' must be a string, not {type(data[key]).__name__}."
            )
    for key in ("ignore_case", "smart"):
        if key in data and not isinstance(data[key], bool):
            raise ProfileError(f"Profile file {path}: '{key}' must be true or false.")
    if "complement_of" in data and ("extends" in data or "include" in data):
        raise ProfileError(
            f"Profile file {path}: 'complement_of' chooses what ships, so it cannot be "
            "combined with 'extends' or 'include'. Keep one of them."
        )
    for key in ("include", "exclude"):
        data[key] = _pattern_list(path, key, data.get(key), text)
        if data[key] is None:
            del data[key]
    try:
        read_rules(data.get(KEY), bool(data.get("ignore_case")))
    except RuleError as exc:
        raise ProfileError(f"Profile file {path}: {exc}.") from exc
    return RawProfile(name=name, origin=str(path), data=data)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's message on one line: where, then what."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        return f"line {mark.line + 1}, column {mark.column + 1}: {what}"
    return " ".join(str(exc).split())


def _pattern_list(path: Path, key: str, value: Any, text: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        # An unquoted "- !keep.map" is a YAML tag with no value: None in the list.
        hint = yaml_hint(text) if isinstance(value, list) and None in value else ""
        raise ProfileError(f"Profile file {path}: '{key}' must be a list of pattern strings.{hint}")
    for text in value:
        try:
            check(Pattern(text))
        except PatternError as exc:
            raise ProfileError(
                f"Profile file {path}: '{key}' has an invalid pattern: {exc}. "
                "Patterns use .gitignore syntax."
            ) from exc
    return value


def profile_files(location: Path) -> list[Path]:
    """The profile files at a location: the file itself, or a folder's YAML files."""
    if location.is_dir():
        try:
            entries = list(location.iterdir())
        except OSError as exc:
            raise ProfileError(
                f"Cannot list the profiles folder {location}: {exc.strerror or exc}."
            ) from exc
        return sorted(p for p in entries if p.suffix in YAML_SUFFIXES and p.is_file())
    if location.is_file():
        if location.suffix not in YAML_SUFFIXES:
            raise ProfileError(f"Profile file {location} must end in .yaml or .yml.")
        return [location]
    if location.exists():
        raise ProfileError(
            f"Profiles path {location} is not a regular file or folder (a device, pipe or "
            "socket). Point COLLECTSTUPID['PROFILES'] at a profile file or a folder of them."
        )
    if location.is_symlink():
        raise ProfileError(
            f"Profiles path {location} is a symbolic link to a path that does not exist. "
            "Fix the link or COLLECTSTUPID['PROFILES']."
        )
    raise ProfileError(
        f"Profiles path {location} does not exist. Fix COLLECTSTUPID['PROFILES'] or create it."
    )


def read_raw_profiles(
    locations: Iterable[str | Path],
) -> tuple[dict[str, RawProfile], dict[str, BrokenFile]]:
    """Built-ins first, then each project location; later names override earlier ones.

    A file that cannot be read is returned apart, under its profile's name; a
    location that is missing or not a folder or file raises ProfileError.
    """
    raw: dict[str, RawProfile] = {}
    broken: dict[str, BrokenFile] = {}
    sources = [(path, BUILTIN) for path in profile_files(builtin_dir())]
    for location in locations:
        sources += [(path, str(path)) for path in profile_files(Path(location))]
    for path, origin in sources:
        try:
            profile = read_profile_file(path)
        except ProfileError as exc:
            raw.pop(path.stem, None)
            broken[path.stem] = BrokenFile(path.stem, str(path), exc)
        else:
            broken.pop(path.stem, None)
            raw[profile.name] = RawProfile(profile.name, origin, profile.data)
    return raw, broken


def profile_names(locations: Iterable[str | Path] = ()) -> list[str]:
    """The names of the profiles, from the file names alone (for --help: nothing is parsed)."""
    names = {p.stem for p in builtin_dir().glob("*") if p.suffix in YAML_SUFFIXES}
    for location in locations:
        try:
            names.update(p.stem for p in profile_files(Path(location)))
        except ProfileError:
            continue
    return sorted(names)


def available_profiles() -> list[str]:
    """Profile names for ``--help``: never an error, which would hide the help itself."""
    try:
        return profile_names(get_settings().profiles)
    except SettingsError:  # it shows when the command runs
        return profile_names()
