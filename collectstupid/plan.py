"""What a run will upload: the found files the profile selects."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from collectstupid.collect import SourceFile
from collectstupid.object_parameters import Rules
from collectstupid.profiles import Profile


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
