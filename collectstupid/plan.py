"""What a run will upload: the found files the profile selects."""

from __future__ import annotations

from dataclasses import dataclass, field

from collectstupid.collect import SourceFile
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
