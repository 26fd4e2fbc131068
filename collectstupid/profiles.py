"""Profiles: named sets of gitignore-style patterns that choose which files ship.

A profile is one YAML file; its name is the file name without the extension.
Built-in profiles ship with the package; a project's own files (the
``COLLECTSTUPID["PROFILES"]`` setting) override them by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pathspec
import yaml

from collectstupid.errors import ProfileError

BUILTIN = "built-in"
KEYS = frozenset({"description", "extends", "include", "exclude", "ignore_case", "smart"})
YAML_SUFFIXES = (".yaml", ".yml")
MATCH_EVERYTHING = ("*",)


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
class Profile:
    """A compiled profile: ``select(path)`` says whether a destination path ships."""

    name: str
    origin: str
    description: str = ""
    include: tuple[str, ...] = MATCH_EVERYTHING
    exclude: tuple[str, ...] = ()
    ignore_case: bool = False
    # Smart mode for this profile: None defers to COLLECTSTUPID['SMART'].
    smart: bool | None = None
    _include_spec: pathspec.PathSpec = field(init=False, repr=False, compare=False)
    _exclude_spec: pathspec.PathSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_include_spec", self._compile(self.include))
        object.__setattr__(self, "_exclude_spec", self._compile(self.exclude))

    def _compile(self, patterns: Iterable[str]) -> pathspec.PathSpec:
        lines = [p.lower() if self.ignore_case else p for p in patterns]
        try:
            return pathspec.GitIgnoreSpec.from_lines(lines)
        except (ValueError, TypeError) as exc:
            raise ProfileError(
                f"Profile '{self.name}' ({self.origin}) has an invalid pattern: {exc}. "
                "Patterns use .gitignore syntax."
            ) from exc

    def select(self, path: str) -> bool:
        """True when the destination path (with ``/`` separators) is shipped."""
        if self.ignore_case:
            path = path.lower()
        return self._include_spec.match_file(path) and not self._exclude_spec.match_file(path)

    def with_patterns(self, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> Profile:
        """This profile with command-line patterns added on top.

        ``--include`` adds files back even when the profile excludes them;
        ``--exclude`` leaves files out even when the profile includes them.
        """
        include, exclude = tuple(include), tuple(exclude)
        if not include and not exclude:
            return self
        base = self
        if include:
            # An added include wins over the profile's excludes, as the user asked for it.
            base = Profile(
                name=self.name,
                origin=self.origin,
                description=self.description,
                include=self.include + include,
                exclude=self.exclude + tuple(f"!{p.lstrip('!')}" for p in include),
                ignore_case=self.ignore_case,
                smart=self.smart,
            )
        return Profile(
            name=base.name,
            origin=base.origin,
            description=base.description,
            include=base.include,
            exclude=base.exclude + exclude,
            ignore_case=base.ignore_case,
            smart=base.smart,
        )


@dataclass(frozen=True)
class RawProfile:
    """A profile as read from YAML, before ``extends`` is resolved."""

    name: str
    origin: str
    data: Mapping[str, Any]


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
        raise ProfileError(f"Profile file {path} is not valid YAML: {exc}") from exc
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
    for key in ("description", "extends"):
        if key in data and not isinstance(data[key], str):
            raise ProfileError(
                f"Profile file {path}: '{key}' must be a string, not {type(data[key]).__name__}."
            )
    if "ignore_case" in data and not isinstance(data["ignore_case"], bool):
        raise ProfileError(f"Profile file {path}: 'ignore_case' must be true or false.")
    if "smart" in data and not isinstance(data["smart"], bool):
        raise ProfileError(f"Profile file {path}: 'smart' must be true or false.")
    for key in ("include", "exclude"):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise ProfileError(
                f"Profile file {path}: '{key}' must be a list of pattern strings."
            )
        data[key] = value
    return RawProfile(name=name, origin=str(path), data=data)


def profile_files(location: Path) -> list[Path]:
    """The profile files at a location: the file itself, or a folder's YAML files."""
    if location.is_dir():
        return sorted(p for p in location.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
    if location.is_file():
        if location.suffix not in YAML_SUFFIXES:
            raise ProfileError(
                f"Profile file {location} must end in .yaml or .yml."
            )
        return [location]
    raise ProfileError(
        f"Profiles path {location} does not exist. Fix COLLECTSTUPID['PROFILES'] "
        "or create it."
    )


def read_raw_profiles(locations: Iterable[str | Path]) -> dict[str, RawProfile]:
    """Built-ins first, then each project location; later names override earlier ones."""
    raw: dict[str, RawProfile] = {}
    for path in profile_files(builtin_dir()):
        profile = read_profile_file(path)
        raw[profile.name] = RawProfile(profile.name, BUILTIN, profile.data)
    for location in locations:
        for path in profile_files(Path(location)):
            profile = read_profile_file(path)
            raw[profile.name] = profile
    return raw


def _resolve(name: str, raw: Mapping[str, RawProfile], chain: tuple[str, ...]) -> Profile:
    entry = raw[name]
    data = entry.data
    parent: Profile | None = None
    if "extends" in data:
        parent_name = data["extends"]
        if parent_name in chain or parent_name == name:
            cycle = " -> ".join((*chain, name, parent_name))
            raise ProfileError(f"Profile '{name}' ({entry.origin}) extends in a cycle: {cycle}.")
        if parent_name not in raw:
            raise ProfileError(
                f"Profile '{name}' ({entry.origin}) extends unknown profile '{parent_name}'. "
                f"Known profiles: {', '.join(sorted(raw))}."
            )
        parent = _resolve(parent_name, raw, (*chain, name))
    # A child's include replaces its parent's; excludes stack like nested .gitignore files.
    if "include" in data and data["include"] is not None:
        include = tuple(data["include"])
    else:
        include = parent.include if parent else MATCH_EVERYTHING
    exclude = (parent.exclude if parent else ()) + tuple(data.get("exclude") or ())
    return Profile(
        name=name,
        origin=entry.origin,
        description=data.get("description", parent.description if parent else ""),
        include=include,
        exclude=exclude,
        ignore_case=data.get("ignore_case", parent.ignore_case if parent else False),
        smart=data.get("smart", parent.smart if parent else None),
    )


def load_profiles(locations: Iterable[str | Path] = ()) -> dict[str, Profile]:
    """Every profile, compiled, by name. Raises ProfileError on the first problem."""
    raw = read_raw_profiles(locations)
    return {name: _resolve(name, raw, ()) for name in sorted(raw)}


def get_profile(name: str, profiles: Mapping[str, Profile]) -> Profile:
    """The named profile, or an error that lists the known ones."""
    try:
        return profiles[name]
    except KeyError:
        raise ProfileError(
            f"Unknown profile '{name}'. Known profiles: {', '.join(sorted(profiles))}. "
            "Add your own with COLLECTSTUPID['PROFILES']."
        ) from None
