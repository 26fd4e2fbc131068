"""``manage.py collectstupid``: upload the static files a profile selects, once each.

The deploy's outline: plan (everything that can fail before a write), then a dry run, or
the question, --clear's deletions, the uploads and the finish; then its options (the
--help text), in groups, Django's own last. See docs/command.md.
"""

from __future__ import annotations

from argparse import BooleanOptionalAction
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.core.checks import Tags
from django.core.management.base import BaseCommand, CommandError, CommandParser

from collectstupid import github_actions, planning, report, verify
from collectstupid.conf import DEFAULTS, MAX_THREADS
from collectstupid.deployment import names_shown
from collectstupid.errors import CollectStupidError, DeployError, Interrupted, ReportedError
from collectstupid.execute import (
    abort_and_clear,
    finish,
    report_failure,
    signals_handled,
    write_files,
)
from collectstupid.outcomes import ClearResult
from collectstupid.output import Output
from collectstupid.planning import Options, dry_run
from collectstupid.profile_files import available_profiles
from collectstupid.report import Ending, exit_status, interrupted_message


class Command(BaseCommand):
    help = (
        "Upload the static files selected by a profile to the staticfiles storage, "
        "one write per file, with no exists, timestamp or delete checks."
    )
    # Our own configuration is validated by the command itself, with clearer errors.
    requires_system_checks = (Tags.staticfiles,)

    def add_arguments(self, parser: CommandParser) -> None:
        """The options and their --help text, in collectstatic's words where it has the option,
        grouped; Django's own options come last (see create_parser)."""
        _selection_options(parser.add_argument_group("what is deployed"))
        _upload_options(parser.add_argument_group("how it is uploaded"))
        smart_mode = parser.add_argument_group("smart mode and cleanup")
        _smart_options(smart_mode)
        _cleanup_options(smart_mode)
        _cdn_options(parser.add_argument_group("CDN"))
        _output_options(parser.add_argument_group("output"))

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Django adds its generic options (-v, --settings...) before ours: shown last,
        # under their own heading, they no longer hide the deploy's own.
        generic = parser._optionals
        generic.title = "Django's options"
        parser._action_groups.remove(generic)
        parser._action_groups.append(generic)
        return parser

    def handle(self, **parsed: Any) -> None:
        opts = Options.parsed(parsed)
        out = Output(self.stdout, self.stderr, opts.verbosity, self.style.WARNING)
        deployment, cleared = None, None
        with signals_handled() as signals:
            try:
                # Whatever the plan step enters (a staging folder) is removed however it
                # ends; a signal never cuts that removal short (see execute.py).
                with ExitStack() as cleanup:
                    # Nothing is written before the uploads: a signal stops the run at once.
                    with signals.raising(after=0):
                        start = planning.survey(opts, out)
                        if opts.list_profiles:
                            plans = planning.profile_plans(start)
                            for entry in report.profile_entries(start.catalog, plans):
                                out.say(entry, level=0)
                            return
                        deployment = planning.plan_deployment(start, opts, cleanup, out)
                        out.know(names_shown(deployment))
                        if opts.verify:
                            verify.run(deployment, start.conf.manifest_name, out)
                            return
                        if opts.dry_run:
                            dry_run(deployment, out)
                            return
                        if opts.interactive and out.ask(report.question(deployment)) != "yes":
                            raise DeployError("Collecting static files cancelled.")
                    # --clear deletes before the uploads; a first signal lets it finish.
                    cleared = ClearResult() if deployment.clearing else None
                    with signals.raising(after=1):
                        abort_and_clear(deployment, cleared, out)
                    finish(deployment, write_files(deployment, cleared, signals, out), out)
            except Interrupted as exc:
                message, status = interrupted_message(cleared), exit_status(exc.signum)
                ending = Ending(status, message)
                report_failure(opts.report_json, deployment, cleared, ending, opts.dry_run)
                raise CommandError(out.printable(message), returncode=status) from None
            except CollectStupidError as exc:
                out.warn_pending()
                github_actions.stopped(out, str(exc))
                status = exit_status(signals.last) if signals.received else 1
                if not isinstance(exc, ReportedError):
                    ending = Ending(status, str(exc))
                    report_failure(opts.report_json, deployment, cleared, ending, opts.dry_run)
                raise CommandError(out.printable(str(exc)), returncode=status) from exc
            finally:
                out.flush()


def _selection_options(group: Any) -> None:
    """Profile selection and collectstatic's ignore patterns."""
    group.add_argument(
        "--profile",
        help="Profile to deploy: "
        f"{', '.join(available_profiles())} (default: DEFAULT_PROFILE, "
        f"'{DEFAULTS['DEFAULT_PROFILE']}' unless set).",
    )
    group.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PATTERN",
        help="Also ship files matching this gitignore-style pattern.",
    )
    group.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="Also leave out files matching this gitignore-style pattern.",
    )
    group.add_argument(
        "--list-profiles",
        action="store_true",
        help="List the profiles with what each selects here, then exit.",
    )
    group.add_argument(
        "-i",
        "--ignore",
        action="append",
        default=[],
        dest="ignore_patterns",
        metavar="PATTERN",
        help="Ignore files, directories or paths matching "
        "this glob-style pattern, as collectstatic does. Use multiple times.",
    )
    group.add_argument(
        "--no-default-ignore",
        action="store_false",
        dest="use_default_ignore_patterns",
        help="Don't ignore the common private glob-style patterns 'CVS', '.*' and '*~'.",
    )


def _upload_options(group: Any) -> None:
    """The upload itself, as collectstatic's options where it has them."""
    group.add_argument(
        "--noinput",
        "--no-input",
        action="store_false",
        dest="interactive",
        help="Do NOT prompt the user for input of any kind.",
    )
    group.add_argument(
        "-n",
        "--dry-run",
        action="store_true",
        help="Show what would be uploaded; write nothing.",
    )
    group.add_argument(
        "--verify",
        action="store_true",
        help="Write nothing: compare what this build and profile would ship "
        "(hashed copies included) with one listing of the storage, and fail "
        "if a file is missing or different there.",
    )
    group.add_argument(
        "-l",
        "--link",
        action="store_true",
        help="Create a symbolic link to each file instead of copying it, "
        "as collectstatic does. Only for a storage with local paths "
        "(FileSystemStorage); hashed copies are still copied.",
    )
    group.add_argument(
        "--no-post-process",
        action="store_false",
        dest="post_process",
        help="Do NOT post process collected files.",
    )
    group.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help=f"Uploads in flight at once, 1 to {MAX_THREADS} (default: "
        f"THREADS, {DEFAULTS['THREADS']} unless set).",
    )
    group.add_argument(
        "--allow-empty", action="store_true", help="Succeed when the profile selects no file."
    )


def _smart_options(group: Any) -> None:
    """Smart mode: what the deploy manifest lets a run skip."""
    group.add_argument(
        "--smart",
        action=BooleanOptionalAction,
        default=None,
        help="Upload only files whose content the deploy manifest in the "
        "storage does not record, then update it (default: the profile's "
        "'smart', else SMART, off unless set).",
    )
    group.add_argument(
        "--force",
        action="store_true",
        help="Smart mode, but upload every selected file and rewrite the manifest.",
    )


def _cleanup_options(group: Any) -> None:
    """What is deleted before or after the upload, and the bounds on it."""
    group.add_argument(
        "--prune",
        action="store_true",
        help="Smart mode, then, once every file landed, delete what "
        "earlier deploys of this profile recorded and this one no longer "
        "ships (old hashed copies after --keep-deploys deploys). Never "
        "lists the storage; never deletes what it did not record.",
    )
    group.add_argument(
        "--keep-deploys",
        type=int,
        metavar="N",
        help="Keep the hashed copies of this profile's last N deploys, "
        "this one included (default: KEEP_DEPLOYS, "
        f"{DEFAULTS['KEEP_DEPLOYS']} unless set).",
    )
    group.add_argument(
        "--prune-max-share",
        type=int,
        metavar="PERCENT",
        help="--prune stops before deleting more than PERCENT of the files the "
        "profile's previous deploy shipped; 100 allows any share (default: "
        f"PRUNE_MAX_SHARE, {DEFAULTS['PRUNE_MAX_SHARE']} unless set).",
    )
    group.add_argument(
        "-c",
        "--clear",
        action="store_true",
        help="Delete the files the profile selects from the storage before "
        "uploading (all of them with a profile that selects everything, "
        "as collectstatic does). Until the upload ends the site serves "
        "missing files: --prune, which deletes stale files after the "
        "upload, is the safe choice.",
    )
    group.add_argument(
        "--abort-uploads",
        action="store_true",
        help="Before uploading, abort the multipart uploads left open under the "
        "storage's location (S3), as a killed run leaves them, of files the profile "
        "selects and this deploy ships or the deploy manifest records. Only when no "
        "other deploy to this location is running.",
    )


def _cdn_options(group: Any) -> None:
    """The CDN invalidation set in COLLECTSTUPID['CDN']."""
    group.add_argument(
        "--no-invalidate",
        action="store_false",
        dest="invalidate",
        help="Do not invalidate the CDN set in COLLECTSTUPID['CDN'] this time.",
    )
    group.add_argument(
        "--wait-invalidation",
        action="store_true",
        help="After invalidating the CDN, wait until the invalidation completed.",
    )


def _output_options(group: Any) -> None:
    """What the run reports besides its output (-v is among Django's options)."""
    group.add_argument(
        "--report-json",
        type=Path,
        metavar="PATH",
        help="Write a machine-readable report of the run to PATH.",
    )
