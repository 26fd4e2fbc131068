"""``manage.py collectstupid``: upload the static files a profile selects, once each."""

from __future__ import annotations

from argparse import BooleanOptionalAction
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.checks import Tags
from django.core.files.storage import Storage
from django.core.management.base import BaseCommand, CommandError, CommandParser

from collectstupid import clear, failures, local, object_parameters, prune, report, smart
from collectstupid.backends import backend_for
from collectstupid.collect import Found, find_files, ignore_patterns, unreadable
from collectstupid.conf import (
    DEFAULTS,
    MAX_THREADS,
    get_settings,
    keep_deploys_value,
    threads_value,
)
from collectstupid.deploy import (
    Deployment,
    Executed,
    closing_error,
    conflict_warning,
    exit_status,
    manifest_cut_short,
)
from collectstupid.destination import destination
from collectstupid.errors import (
    CollectStupidError,
    DeployError,
    Interrupted,
    ManifestError,
    ProfileError,
)
from collectstupid.interrupt import Signals, signals_handled
from collectstupid.link import check_linkable, link_writer
from collectstupid.loaded import adopt_manifest
from collectstupid.manifest import Shipped
from collectstupid.plan import Plan, make_plan, with_parameters
from collectstupid.profile_files import available_profiles
from collectstupid.profiles import Catalog, load_catalog
from collectstupid.redact import redact
from collectstupid.stage import hashes_names, staged_plan
from collectstupid.storage import class_name, target_storage
from collectstupid.upload import FAILED, Outcome, Pool, Writer, not_started, upload_in_order


class Command(BaseCommand):
    help = (
        "Upload the static files selected by a profile to the staticfiles storage, "
        "one write per file, with no exists, timestamp or delete checks."
    )
    # Our own configuration is validated by the command itself, with clearer errors.
    requires_system_checks = (Tags.staticfiles,)

    def add_arguments(self, parser: CommandParser) -> None:
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
            "--keep-deploys",
            type=int,
            metavar="N",
            help="Keep the hashed copies of this profile's last N deploys, "
            "this one included (default: KEEP_DEPLOYS, "
            f"{DEFAULTS['KEEP_DEPLOYS']} unless set).",
        )

    def handle(self, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        with signals_handled() as signals:
            try:
                # Whatever the plan step enters (a staging folder) is removed however it
                # ends; a signal never cuts that removal short (see interrupt.py).
                with ExitStack() as cleanup:
                    # Nothing is written before the uploads: a signal stops the run at once.
                    with signals.raising(after=0):
                        deployment = self.plan_deployment(options, cleanup)
                        if deployment is None:
                            return
                        if options["dry_run"]:
                            self.dry_run(deployment)
                            return
                        if options["interactive"] and not self.confirm(deployment):
                            raise DeployError("Collecting static files cancelled.")
                    # --clear deletes before the uploads; a first signal lets it finish.
                    with signals.raising(after=1):
                        cleared = self.clear_first(deployment)
                    executed = self.upload(deployment, signals)
                    executed.cleared = cleared
                    self.finish(deployment, executed)
            except Interrupted as exc:
                raise CommandError(
                    "Interrupted before any upload: nothing was uploaded.",
                    returncode=exit_status(exc.signum),
                ) from None
            except CollectStupidError as exc:
                raise CommandError(
                    redact(str(exc)),
                    returncode=exit_status(signals.last) if signals.received else 1,
                ) from exc

    def log(self, message: str, level: int = 1) -> None:
        if self.verbosity >= level:
            self.stdout.write(message)

    def plan_deployment(self, options: dict[str, Any], cleanup: ExitStack) -> Deployment | None:
        """Everything that can fail before a write: settings, profile, files, manifest read."""
        conf = get_settings()
        catalog = load_catalog(conf.profiles)
        name = options["profile"] or conf.default_profile
        profile = catalog.get(name).with_patterns(options["include"], options["exclude"])
        for problem in catalog.problems_besides(name):
            self.stderr.write(self.style.WARNING(f"Not used in this run: {problem}"))
        threads = (
            conf.threads
            if options["threads"] is None
            else threads_value(options["threads"], "--threads")
        )
        if options["report_json"]:
            report.check_writable(options["report_json"])
        found = find_files(
            ignore_patterns(options["ignore_patterns"], options["use_default_ignore_patterns"])
        )
        if options["list_profiles"]:
            self.list_profiles(catalog, found)
            return None
        for dest in found.duplicates:
            self.log(
                f"Found another file with the destination path '{dest}'. It will be "
                "ignored since only the first encountered file is collected.",
                level=1,
            )
        plan = make_plan(found.files, profile)
        self.check_plan(plan, options["allow_empty"])
        storage = target_storage()
        if options["link"]:
            check_linkable(storage, destination(storage))
        deployment = Deployment(
            profile,
            plan,
            backend_for(storage),
            destination(storage),
            threads,
            report_json=options["report_json"],
        )
        if options["link"]:
            deployment.link = found.files
        if options["post_process"] and hashes_names(storage):
            deployment.staged = cleanup.enter_context(
                staged_plan(
                    plan,
                    found.files,
                    on_processed=lambda name, hashed: self.log(
                        f"Post-processed '{name}' as '{hashed}'", level=2
                    ),
                    parent=local.staging_parent(storage),
                )
            )
            deployment.plan = deployment.staged.plan
        self.apply_object_parameters(deployment, storage)
        self.log(
            f"Profile '{profile.name}' ({profile.origin}); {threads} threads; "
            f"storage {class_name(storage)}.",
            level=3,
        )
        keep = (
            conf.keep_deploys
            if options["keep_deploys"] is None
            else keep_deploys_value(options["keep_deploys"], "--keep-deploys")
        )
        if smart.enabled(
            options["smart"], options["force"], profile.smart, conf.smart, options["prune"]
        ):
            deployment.smart = smart.SmartRun.start(
                deployment.backend, deployment.plan, conf.manifest_name, options["force"]
            )
            paths = frozenset(s.dest for s in deployment.plan.all_files)
            copies = deployment.staged.copies if deployment.staged else frozenset()
            deployment.smart.shipped = Shipped(profile.name, paths, copies & paths, keep)
            deployment.smart.prune = options["prune"]
            if options["dry_run"]:
                self.check_dry_run_can_compare(deployment.smart)
            if deployment.smart.warning:
                self.stderr.write(self.style.WARNING(redact(deployment.smart.warning)))
        if options["clear"]:
            deployment.clearing = clear.plan_clear(
                deployment.backend,
                profile,
                conf.manifest_name,
                keep_manifest=deployment.smart is not None,
            )
            for name in deployment.clearing.refused:
                self.stderr.write(
                    f"--clear: not deleting '{name}': its name could reach "
                    "outside the storage's location."
                )
        return deployment

    def apply_object_parameters(self, deployment: Deployment, storage: Storage) -> None:
        """Give each planned file its profile's object parameters, or refuse the run."""
        rules, profile = deployment.profile.object_parameters, deployment.profile
        if not rules:
            return
        if not deployment.backend.takes_parameters:
            raise ProfileError(
                object_parameters.unsupported(
                    profile.name, profile.origin, rules, class_name(storage)
                )
            )
        hashed = deployment.staged.hashed if deployment.staged else frozenset()
        if rules.for_hashed_copies and not hashed:
            self.stderr.write(
                self.style.WARNING(
                    f"Profile '{profile.name}' has object parameters for hashed copies, but "
                    "this run makes none (the storage does not hash names, or --no-post-process)."
                )
            )
        applied = with_parameters(deployment.plan, rules, hashed)
        deployment.plan = applied.plan
        self.log(f"Object parameters from profile '{profile.name}' for {applied.files} files.", 3)

    def clear_first(self, deployment: Deployment) -> clear.ClearResult | None:
        """--clear: delete what the profile selects, before the upload."""
        clearing, run = deployment.clearing, deployment.smart
        if clearing is None:
            return None

        def on_deleted(name: str, error: str) -> None:
            if error:
                self.stderr.write(f"Failed to delete '{name}': {error}")
            else:
                self.log(f"Deleting '{name}'", level=2)

        cleared = clear.clear(
            deployment.backend,
            clearing,
            deployment.threads,
            run.store if run else None,
            run.base if run else None,
            on_deleted,
        )
        if run and cleared.manifest is not None:
            run.cleared(cleared.manifest)
        return cleared

    def upload(self, deployment: Deployment, signals: Signals) -> Executed:
        """Every file once, the manifests that name them last, then the deploy manifest."""
        plan, backend, run = deployment.plan, deployment.backend, deployment.smart
        # At -v 2 a line per file is the progress: a bar between them would only garble them.
        bar = report.ProgressBar(plan.bytes, len(plan.all_files), enabled=self.verbosity == 1)
        failed = failures.LivePrinter(self.verbosity)

        def on_done(outcome: Outcome) -> None:
            bar.update(outcome)
            if outcome.status == FAILED:
                if (line := failed.line(outcome)) is not None:
                    with bar.hidden():
                        self.stderr.write(line)
            else:
                self.log(report.file_line(outcome, deployment.link is not None), level=2)

        backend.prepare(deployment.threads)
        retried_before = backend.retries
        if run:
            try:
                # Hashing, then a manifest write: a first signal lets them finish (and no
                # upload starts after), a second stops the run; any marker the write left
                # is one the next run takes over, as from a run that died.
                with signals.raising(after=1):
                    run.prepare(plan, deployment.threads)
            except ManifestError as exc:
                # The manifest could not stop vouching for the old files: send none.
                return Executed(
                    not_started(plan.all_files, "the manifest could not be updated first"),
                    manifest_error=str(exc),
                )
        returned = False
        leftovers: list[str] = []
        try:
            write: Writer = backend.write
            if deployment.link is not None:
                write = link_writer(backend.storage, deployment.link, write)
            write = run.wrap(write) if run else write
            pool = Pool(
                deployment.threads, on_done, signals.stop, backend.describe_error, signals.abort
            )
            result = upload_in_order(plan.files, plan.last, write, pool)
            returned = True
        finally:
            bar.close()
            if not returned or signals.abort.is_set():
                # Workers may still be sending: what they started must not stay open.
                leftovers = backend.abort_writes()
        # Last of all writes, after plan.last: the manifest records only what landed
        # (an aborted run's files in flight count as failed). A signal that the run
        # has not had yet waits for it: cut short, it would leave the old manifest
        # describing files this run replaced. One more cuts it short.
        manifest_error = None
        if run:
            try:
                with signals.raising(after=2 if signals.abort.is_set() else 1):
                    manifest_error = run.finish(result)
            except Interrupted:
                manifest_error = manifest_cut_short(run.store.name)
        # Deletions after everything, and not once a signal asked to stop: the
        # manifest keeps the doomed paths, so the next --prune run deletes them.
        pruned = None
        if run and run.prune and not signals.stop.is_set():
            pruned = prune.prune(
                run,
                backend,
                deployment.threads,
                on_deleted=lambda path: self.log(f"Pruned '{path}'", level=2),
            )
            for path, why in pruned.failed.items():
                self.stderr.write(redact(f"Could not prune '{path}': {why}"))
        result.retries = backend.retries - retried_before
        staged = deployment.staged
        if staged and staged.hashed_files is not None and not (result.failed or result.cancelled):
            adopt_manifest(staged.hashed_files, staged.manifest_hash)
        return Executed(
            result,
            signals.stop.is_set(),
            manifest_error,
            pruned=pruned,
            aborted=signals.abort.is_set(),
            leftovers=leftovers,
        )

    def finish(self, deployment: Deployment, executed: Executed) -> None:
        """The report, the summary line, and the error the run ends with, if any."""
        result, run, pruned = executed.result, deployment.smart, executed.pruned
        extra: dict[str, Any] = {"smart": run.report()} if run else {}
        if run and run.prune:
            extra["pruned"] = pruned.deleted if pruned else []
            extra["prune_failed"] = pruned.failed if pruned else {}
        if deployment.report_json:
            try:
                report.write_json(
                    deployment.report_json,
                    report.report_data(
                        deployment.plan,
                        result,
                        deployment.destination,
                        dry_run=False,
                        extra=extra | self.report_extra(deployment, executed.cleared),
                    ),
                )
            except CollectStupidError as exc:
                executed.report_error = str(exc)
                self.stderr.write(redact(str(exc)))
        copied, post_processed = None, deployment.post_processed
        if deployment.staged and local.claims(deployment.backend.storage):
            copied, post_processed = local.collectstatic_counts(
                deployment.plan, result, deployment.staged
            )
        summary = report.run_summary(
            deployment.plan,
            result,
            deployment.destination,
            post_processed,
            smart=run is not None,
            pruned=len(pruned.deleted) if pruned else (0 if run and run.prune else None),
            prune_failed=len(pruned.failed) if pruned else 0,
            copied=copied,
        )
        if deployment.link is not None:
            summary = replace(summary, action="symlinked")
        if executed.cleared:
            summary = replace(
                summary,
                deleted=len(executed.cleared.deleted),
                delete_failed=len(executed.cleared.failed),
            )
        self.log(report.render(summary))
        warning = conflict_warning(run)
        if warning:
            self.stderr.write(self.style.WARNING(warning))
        if executed.manifest_error:
            self.stderr.write(redact(executed.manifest_error))
        error = closing_error(deployment, executed, self.verbosity)
        if error:
            raise DeployError(error)

    def check_plan(self, plan: Plan, allow_empty: bool) -> None:
        if not plan.files and not allow_empty:
            raise DeployError(
                f"Profile '{plan.profile.name}' selects none of the "
                f"{len(plan.files) + len(plan.left_out)} static files found. Check its "
                "patterns (they match destination paths such as 'css/site.css'), or pass "
                "--allow-empty if that is intended."
            )
        problems = unreadable(plan.files)
        if problems:
            listed = "\n".join(
                f"  {s.dest} ({s.storage.path(s.path)}): {why}" for s, why in problems[:20]
            )
            raise DeployError(
                f"{report.plural(len(problems), 'static file')} cannot be read, "
                f"so nothing was uploaded:\n"
                f"{listed}\nFix their permissions or remove them, then run again."
            )

    def dry_run(self, deployment: Deployment) -> None:
        plan, run = deployment.plan, deployment.smart
        extra: dict[str, Any] = {}
        if run:
            run.preview(plan, deployment.threads)
            would, unchanged, summary = run.dry_run(plan, deployment.destination)
            for text in would:
                self.log(text, level=1)
            for text in unchanged:
                self.log(text, level=2)
            extra["smart"] = run.report()
            if run.prune:
                doomed = run.would_prune()
                for path in doomed:
                    self.log(f"Would prune '{path}'", level=1)
                summary = replace(summary, pruned=len(doomed))
                extra["would_prune"] = doomed
        else:
            summary = report.dry_run_summary(plan, deployment.destination)
            for source in plan.all_files:
                self.log(
                    f"Would upload '{source.dest}' ({report.format_size(source.size)})", level=1
                )
        for source in plan.left_out:
            self.log(f"Left out by the profile: '{source.dest}'", level=2)
        if deployment.clearing:
            for name in deployment.clearing.names:
                self.log(f"Would delete '{name}'", level=1)
            summary = replace(summary, deleted=len(deployment.clearing.names))
        if deployment.report_json:
            report.write_json(
                deployment.report_json,
                report.report_data(
                    plan,
                    None,
                    deployment.destination,
                    True,
                    extra=extra | self.report_extra(deployment),
                ),
            )
        self.log(report.render(summary))

    def check_dry_run_can_compare(self, run: smart.SmartRun) -> None:
        """A dry run that could not read the manifest cannot say what changed: no guessing."""
        if run.base.problem and not run.base.found:
            raise DeployError(
                f"The deploy manifest '{run.store.name}' {run.base.problem}, so a dry run "
                "cannot say which files changed. Check the storage's settings and that it "
                "is reachable, then run again."
            )

    def report_extra(
        self, deployment: Deployment, cleared: clear.ClearResult | None = None
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if deployment.smart:
            extra["smart"] = deployment.smart.report()
        if deployment.clearing:
            extra["clear"] = clear.report_data(deployment.clearing, cleared)
        return extra

    def confirm(self, deployment: Deployment) -> bool:
        if deployment.clearing is None:
            warning = "Existing files with the same names will be overwritten.\n"
        elif clear.owns_everything(deployment.profile):
            warning = "This will DELETE ALL FILES in this location!\n"
        else:
            warning = (
                f"This will DELETE the files profile '{deployment.profile.name}' "
                "selects in this location (the files it leaves out stay)!\n"
            )
        message = (
            f"\nYou have requested to upload static files to '{deployment.destination}'.\n"
            f"{warning}"
            "Are you sure you want to do this?\n\nType 'yes' to continue, or 'no' to cancel: "
        )
        return input(message) == "yes"

    def list_profiles(self, catalog: Catalog, found: Found) -> None:
        for name in catalog.names:
            if name in catalog.problems:
                self.stdout.write(f"{name}  [cannot be used]\n    {catalog.problems[name]}")
                continue
            profile = catalog.profiles[name]
            plan = make_plan(found.files, profile)
            self.stdout.write(
                f"{name}  [{profile.origin}]  {len(plan.files)} files, "
                f"{report.format_size(plan.bytes)}\n    {profile.description}"
            )
