"""``manage.py collectstupid``: upload the static files a profile selects, once each.

The deploy's outline: parse the options, plan (everything that can fail before a write),
then a dry run, or the question, --clear's deletions, the uploads and the finish.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from django.core.checks import Tags
from django.core.management.base import BaseCommand, CommandError, CommandParser

from collectstupid import github_actions, options, planning, report
from collectstupid.errors import CollectStupidError, DeployError, Interrupted
from collectstupid.execute import (
    clear_first,
    finish,
    report_failure,
    signals_handled,
    write_files,
)
from collectstupid.output import Output, redact
from collectstupid.planning import dry_run
from collectstupid.report import exit_status, interrupted_message


class Command(BaseCommand):
    help = (
        "Upload the static files selected by a profile to the staticfiles storage, "
        "one write per file, with no exists, timestamp or delete checks."
    )
    # Our own configuration is validated by the command itself, with clearer errors.
    requires_system_checks = (Tags.staticfiles,)

    def add_arguments(self, parser: CommandParser) -> None:
        options.add_arguments(parser)

    def handle(self, **parsed: Any) -> None:
        opts = options.Options.parsed(parsed)
        out = Output(self.stdout, self.stderr, opts.verbosity, self.style.WARNING)
        deployment = None
        with signals_handled() as signals:
            try:
                # Whatever the plan step enters (a staging folder) is removed however it
                # ends; a signal never cuts that removal short (see execute.py).
                with ExitStack() as cleanup:
                    # Nothing is written before the uploads: a signal stops the run at once.
                    with signals.raising(after=0):
                        start = planning.survey(opts, out)
                        if opts.list_profiles:
                            for entry in report.profile_entries(start.catalog, start.found.files):
                                out.say(entry, level=0)
                            return
                        deployment = planning.plan_deployment(start, opts, cleanup, out)
                        if opts.dry_run:
                            dry_run(deployment, out)
                            return
                        if opts.interactive and out.ask(report.question(deployment)) != "yes":
                            raise DeployError("Collecting static files cancelled.")
                    # --clear deletes before the uploads; a first signal lets it finish.
                    with signals.raising(after=1):
                        clear_first(deployment, out)
                    finish(deployment, write_files(deployment, signals, out), out)
            except Interrupted as exc:
                message, status = interrupted_message(deployment), exit_status(exc.signum)
                report_failure(opts.report_json, deployment, message, status, opts.dry_run)
                raise CommandError(message, returncode=status) from None
            except CollectStupidError as exc:
                github_actions.stopped(out, str(exc))
                status = exit_status(signals.last) if signals.received else 1
                report_failure(opts.report_json, deployment, str(exc), status, opts.dry_run)
                raise CommandError(redact(str(exc)), returncode=status) from exc
