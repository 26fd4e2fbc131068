"""The command's options: their definitions (the --help text) and their values, checked."""

from __future__ import annotations

from argparse import ArgumentParser, BooleanOptionalAction
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from collectstupid.conf import (
    DEFAULTS,
    MAX_THREADS,
    Settings,
    keep_deploys_value,
    threads_value,
)
from collectstupid.profile_files import available_profiles


def add_arguments(parser: ArgumentParser) -> None:
    """The options and their --help text, in collectstatic's words where it has the option."""
    parser.add_argument(
        "--profile",
        help="Profile to deploy: "
        f"{', '.join(available_profiles())} (default: DEFAULT_PROFILE, "
        f"'{DEFAULTS['DEFAULT_PROFILE']}' unless set).",
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PATTERN",
        help="Also ship files matching this gitignore-style pattern.",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="Also leave out files matching this gitignore-style pattern.",
    )
    parser.add_argument(
        "--list-profiles",
        action="store_true",
        help="List the profiles with what each selects here, then exit.",
    )
    parser.add_argument(
        "--noinput",
        "--no-input",
        action="store_false",
        dest="interactive",
        help="Do NOT prompt the user for input of any kind.",
    )
    parser.add_argument(
        "-n",
        "--dry-run",
        action="store_true",
        help="Show what would be uploaded; write nothing.",
    )
    parser.add_argument(
        "-i",
        "--ignore",
        action="append",
        default=[],
        dest="ignore_patterns",
        metavar="PATTERN",
        help="Ignore files, directories or paths matching "
        "this glob-style pattern, as collectstatic does. Use multiple times.",
    )
    parser.add_argument(
        "--no-default-ignore",
        action="store_false",
        dest="use_default_ignore_patterns",
        help="Don't ignore the common private glob-style patterns 'CVS', '.*' and '*~'.",
    )
    parser.add_argument(
        "-c",
        "--clear",
        action="store_true",
        help="Delete the files the profile selects from the storage before "
        "uploading (all of them with a profile that selects everything, "
        "as collectstatic does). Until the upload ends the site serves "
        "missing files: --prune, which deletes stale files after the "
        "upload, is the safe choice.",
    )
    parser.add_argument(
        "-l",
        "--link",
        action="store_true",
        help="Create a symbolic link to each file instead of copying it, "
        "as collectstatic does. Only for a storage with local paths "
        "(FileSystemStorage); hashed copies are still copied.",
    )
    parser.add_argument(
        "--no-post-process",
        action="store_false",
        dest="post_process",
        help="Do NOT post process collected files.",
    )
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help=f"Uploads in flight at once, 1 to {MAX_THREADS} (default: "
        f"THREADS, {DEFAULTS['THREADS']} unless set).",
    )
    parser.add_argument(
        "--report-json",
        type=Path,
        metavar="PATH",
        help="Write a machine-readable report of the run to PATH.",
    )
    parser.add_argument(
        "--allow-empty", action="store_true", help="Succeed when the profile selects no file."
    )
    parser.add_argument(
        "--smart",
        action=BooleanOptionalAction,
        default=None,
        help="Upload only files whose content the deploy manifest in the "
        "storage does not record, then update it (default: the profile's "
        "'smart', else SMART, off unless set).",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="Smart mode, but upload every selected file and rewrite the manifest.",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="Smart mode, then, once every file landed, delete what "
        "earlier deploys of this profile recorded and this one no longer "
        "ships (old hashed copies after --keep-deploys deploys). Never "
        "lists the storage; never deletes what it did not record.",
    )
    parser.add_argument(
        "--abort-uploads",
        action="store_true",
        help="Before uploading, abort every multipart upload left open under the "
        "storage's location (S3), as a killed run leaves them. Only when no other "
        "deploy to this location is running.",
    )
    parser.add_argument(
        "--keep-deploys",
        type=int,
        metavar="N",
        help="Keep the hashed copies of this profile's last N deploys, "
        "this one included (default: KEEP_DEPLOYS, "
        f"{DEFAULTS['KEEP_DEPLOYS']} unless set).",
    )
    parser.add_argument(
        "--no-invalidate",
        action="store_false",
        dest="invalidate",
        help="Do not invalidate the CDN set in COLLECTSTUPID['CDN'] this time.",
    )
    parser.add_argument(
        "--wait-invalidation",
        action="store_true",
        help="After invalidating the CDN, wait until the invalidation completed.",
    )


@dataclass(frozen=True)
class Options:
    """The parsed options by name; Django adds ``verbosity``. Checked where they are used,
    so a bad value is reported at the same point of the run as the setting it overrides."""

    verbosity: int
    profile: str | None
    include: list[str]
    exclude: list[str]
    list_profiles: bool
    interactive: bool
    dry_run: bool
    ignore_patterns: list[str]
    use_default_ignore_patterns: bool
    clear: bool
    link: bool
    post_process: bool
    threads: int | None
    report_json: Path | None
    allow_empty: bool
    smart: bool | None
    force: bool
    prune: bool
    keep_deploys: int | None
    invalidate: bool
    wait_invalidation: bool
    abort_uploads: bool

    @classmethod
    def parsed(cls, options: dict[str, Any]) -> Options:
        """Ours from what ``handle`` receives, Django's own options left out."""
        return cls(**{f.name: options[f.name] for f in fields(cls)})

    def thread_count(self, conf: Settings) -> int:
        """--threads, checked, else the THREADS setting."""
        if self.threads is None:
            return conf.threads
        return threads_value(self.threads, "--threads")

    def kept_deploys(self, conf: Settings) -> int:
        """--keep-deploys, checked, else the KEEP_DEPLOYS setting."""
        if self.keep_deploys is None:
            return conf.keep_deploys
        return keep_deploys_value(self.keep_deploys, "--keep-deploys")
