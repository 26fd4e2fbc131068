"""Profiles: named sets of gitignore-style patterns that choose which files ship, and the
:class:`Plan` a profile makes of the files found (what to upload, what goes last).

The files are read by profile_files.py; here each profile is resolved once,
``extends`` chains followed without recursion, and a broken profile stays that
profile's problem (see ``Catalog``). See docs/profiles.md.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import pathspec

from collectstupid.collect import SourceFile
from collectstupid.errors import ProfileError
from collectstupid.object_parameters import KEY, Rules, read_rules
from collectstupid.patterns import Pattern, PatternError, check, patterns, spec
from collectstupid.profile_files import BUILTIN, RawProfile, read_raw_profiles

__all__ = ["BUILTIN", "Catalog", "Profile", "get_profile", "load_catalog", "load_profiles"]

MATCH_EVERYTHING = (Pattern("*"),)


@dataclass(frozen=True)
class Profile:
    """A resolved profile: ``select(path)`` says whether a destination path ships."""

    name: str
    origin: str
    description: str = ""
    include: tuple[Pattern, ...] = MATCH_EVERYTHING
    exclude: tuple[Pattern, ...] = ()
    # The letter-case rule of this profile's own patterns (each pattern keeps the rule
    # of the profile that wrote it) and of patterns added on the command line.
    ignore_case: bool = False
    # Smart mode for this profile: None defers to COLLECTSTUPID['SMART'].
    smart: bool | None = None
    # Object parameters by pattern (see object_parameters.py), the parent's first.
    object_parameters: Rules = field(default_factory=Rules)

    @cached_property
    def _specs(self) -> tuple[pathspec.PathSpec, pathspec.PathSpec]:
        # Compiled on first use: a profile that is only resolved (an ancestor in a
        # long chain, an unused one in `check`) never pays for it.
        return spec(self.include), spec(self.exclude)

    def select(self, path: str) -> bool:
        """True when the destination path (with ``/`` separators) is shipped."""
        include, exclude = self._specs
        return include.match_file(path) and not exclude.match_file(path)

    def with_patterns(self, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> Profile:
        """This profile with command-line patterns added on top.

        ``--include`` adds files back even when the profile excludes them;
        ``--exclude`` leaves files out even when the profile includes them.
        """
        added = patterns(include, self.ignore_case)
        # An added include wins over the profile's excludes, as the user asked for it.
        back = tuple(replace(p, text=f"!{p.text.lstrip('!')}") for p in added)
        removed = patterns(exclude, self.ignore_case)
        for option, items in (("--include", added), ("--include", back), ("--exclude", removed)):
            for item in items:
                try:
                    check(item)
                except PatternError as exc:
                    raise ProfileError(
                        f"The command line's {option} {item.text!r} is not a pattern "
                        f"collectstupid can use: {exc}. Patterns use .gitignore syntax."
                    ) from exc
        if not added and not removed:
            return self
        return replace(self, include=self.include + added, exclude=self.exclude + back + removed)


def _build(entry: RawProfile, parent: Profile | None, complement: Profile | None) -> Profile:
    data = entry.data
    ignore_case = data.get("ignore_case", parent.ignore_case if parent else False)
    # A child's include replaces its parent's; excludes stack like nested .gitignore files.
    if "include" in data:
        include = patterns(data["include"], ignore_case)
    elif complement is not None:
        include = complement.exclude
    else:
        include = parent.include if parent else MATCH_EVERYTHING
    return Profile(
        name=entry.name,
        origin=entry.origin,
        description=data.get("description", parent.description if parent else ""),
        include=include,
        exclude=(parent.exclude if parent else ()) + patterns(data.get("exclude", ()), ignore_case),
        ignore_case=ignore_case,
        smart=data.get("smart", parent.smart if parent else None),
        # A complement takes its parent's selection only: ``parent`` is None for it.
        object_parameters=(parent.object_parameters if parent else Rules())
        + read_rules(data.get(KEY), ignore_case, entry.origin),
    )


@dataclass
class Catalog:
    """Every profile by name, and apart from them the ones that cannot be used, with why."""

    profiles: dict[str, Profile] = field(default_factory=dict)
    problems: dict[str, ProfileError] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return sorted({*self.profiles, *self.problems})

    def get(self, name: str) -> Profile:
        """The named profile; its own problem, or an error listing the known names."""
        if name in self.problems:
            raise self.problems[name]
        return get_profile(name, self.profiles)

    def problems_besides(self, name: str) -> list[ProfileError]:
        """The problems of every profile but ``name``: for warnings, not for stopping."""
        return [error for other, error in sorted(self.problems.items()) if other != name]


def resolve(raw: Mapping[str, RawProfile], catalog: Catalog) -> None:
    """Resolve every profile in ``raw`` into ``catalog``, each once, without recursion.

    A chain is walked up to a profile already done (or one with no parent), then
    built back down: the work grows with the number of profiles, not their depth.
    """
    # The problem to fix, for a profile that is broken because one below it is.
    roots = {name: str(error) for name, error in catalog.problems.items()}

    def fail(name: str, message: str, root: str | None = None) -> None:
        catalog.problems[name] = ProfileError(message)
        roots[name] = root or message

    for start in sorted(raw):
        chain: list[str] = []
        name: str | None = start
        while name is not None and name not in catalog.profiles and name not in catalog.problems:
            entry = raw[name]
            if name in chain:
                cycle = " -> ".join((*chain[chain.index(name) :], name))
                fail(name, f"Profile '{name}' ({entry.origin}) extends in a cycle: {cycle}.")
                break
            chain.append(name)
            parent = entry.depends_on
            if parent is not None and parent not in raw and parent not in catalog.problems:
                fail(name, _unknown(entry, parent, raw))
                break
            name = parent
        for child in reversed(chain):
            if child not in catalog.problems and child not in catalog.profiles:
                _resolve_one(raw[child], catalog, roots, fail)


def _resolve_one(
    entry: RawProfile, catalog: Catalog, roots: dict[str, str], fail: Callable[..., None]
) -> None:
    """Resolve one profile whose parent, if any, is already resolved or broken."""
    parent = entry.depends_on
    if parent is not None and parent in catalog.problems:
        fail(
            entry.name,
            f"Profile '{entry.name}' ({entry.origin}) cannot be used: it is "
            f"built on profile '{parent}', which has a problem. {roots[parent]}",
            roots[parent],
        )
        return
    base = catalog.profiles[parent] if parent is not None else None
    if "complement_of" not in entry.data:
        catalog.profiles[entry.name] = _build(entry, base, None)
    elif base is not None and tuple(p.text for p in base.include) == ("*",):
        catalog.profiles[entry.name] = _build(entry, None, base)
    else:
        fail(
            entry.name,
            f"Profile '{entry.name}' ({entry.origin}): 'complement_of: {parent}' "
            f"needs a profile that includes every file and only excludes some; '{parent}' "
            "has its own include. Write this profile's include instead.",
        )


def _unknown(entry: RawProfile, parent: str, raw: Mapping[str, RawProfile]) -> str:
    known = ", ".join(sorted(raw))
    if "complement_of" in entry.data:
        return (
            f"Profile '{entry.name}' ({entry.origin}): 'complement_of' names unknown "
            f"profile '{parent}'. Known profiles: {known}."
        )
    return (
        f"Profile '{entry.name}' ({entry.origin}) extends unknown profile '{parent}'. "
        f"Known profiles: {known}."
    )


def load_catalog(locations: Iterable[str | Path] = ()) -> Catalog:
    """Every profile, each resolved once; broken ones are kept apart with their problem.

    A profiles location that is missing, or neither a file nor a folder, raises.
    """
    raw, broken = read_raw_profiles(locations)
    catalog = Catalog(problems={name: b.error for name, b in broken.items()})
    resolve(raw, catalog)
    return catalog


def load_profiles(locations: Iterable[str | Path] = ()) -> dict[str, Profile]:
    """Every profile by name. Raises ProfileError on the first problem, in name order."""
    catalog = load_catalog(locations)
    for name in sorted(catalog.problems):
        raise catalog.problems[name]
    return dict(sorted(catalog.profiles.items()))


def get_profile(name: str, profiles: Mapping[str, Profile]) -> Profile:
    """The named profile, or an error that lists the known ones (and the closest)."""
    try:
        return profiles[name]
    except KeyError:
        close = difflib.get_close_matches(name, profiles, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ProfileError(
            f"Unknown profile '{name}'.{hint} Known profiles: {', '.join(sorted(profiles))}. "
            "Add your own with COLLECTSTUPID['PROFILES']."
        ) from None


@dataclass
class Plan:
    profile: Profile
    files: list[SourceFile] = field(default_factory=list)
    left_out: list[SourceFile] = field(default_factory=list)
    # Uploaded only after every file above succeeded: manifests that name them.
    last: list[SourceFile] = field(default_factory=list)

    @property
    def all_files(self) -> list[SourceFile]:
        return self.files + self.last

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.all_files)

    @property
    def left_out_bytes(self) -> int:
        return sum(f.size for f in self.left_out)


def make_plan(files: list[SourceFile], profile: Profile) -> Plan:
    """Split the found files into those the profile ships and those it leaves out."""
    plan = Plan(profile)
    for source in files:
        (plan.files if profile.select(source.dest) else plan.left_out).append(source)
    return plan


def with_parameters(plan: Plan, rules: Rules, hashed: frozenset[str] = frozenset()) -> Plan:
    """``plan`` with each file's parameters from ``rules`` (``hashed``: the hashed copies)."""
    if not rules:
        return plan

    def carry(source: SourceFile, manifest: bool) -> SourceFile:
        params = rules.parameters(source.dest, source.dest in hashed, manifest)
        return replace(source, parameters=params) if params else source

    files = [carry(s, False) for s in plan.files]
    last = [carry(s, True) for s in plan.last]
    return replace(plan, files=files, last=last)
