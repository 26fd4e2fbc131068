"""Everything before the first write: the command's options (:class:`Options`), settings,
the profile, the files found, their post-processing, object parameters, the deploy
manifest's read and what --clear would delete, gathered into one
:class:`~collectstupid.deployment.Deployment`; and --dry-run, which ends there.
See docs/command.md.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from django.core.files.storage import Storage

from collectstupid import (
    clear,
    closing,
    failures,
    object_parameters,
    overlap,
    prune,
    report,
    smart,
)
from collectstupid.backends import Backend, backend_for
from collectstupid.cdn import invalidate
from collectstupid.cdn.invalidate import for_run
from collectstupid.collect import Found, SourceFile, find_files, ignore_patterns, unreadable
from collectstupid.conf import (
    Settings,
    get_settings,
    keep_deploys_value,
    prune_max_share_value,
    threads_value,
)
from collectstupid.deployment import Deployment, DryRun, LeftOpen, Verdict
from collectstupid.errors import DeployError, ProfileError, SettingsError
from collectstupid.failures import verdict
from collectstupid.interruptible import InterruptibleBackend
from collectstupid.output import Output
from collectstupid.profiles import Catalog, Plan, Profile, load_catalog, make_plan, with_parameters
from collectstupid.smart_values import UNCHANGED, Pruning, Read
from collectstupid.stage import Staged, hashes_names, staged_plan
from collectstupid.storage import class_name, location_refusal, target_storage
from collectstupid.upload import why_unnamed


@dataclass(frozen=True)
class Options:
    """The command's options as parsed, by name; Django adds ``verbosity``. Checked where
    they are used, so a bad value is reported at the same point of the run as the setting
    it overrides."""

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
    prune_max_share: int | None
    invalidate: bool
    wait_invalidation: bool
    abort_uploads: bool
    verify: bool

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

    def max_share(self, conf: Settings) -> int:
        """--prune-max-share, checked, else the PRUNE_MAX_SHARE setting."""
        if self.prune_max_share is None:
            return conf.prune_max_share
        return prune_max_share_value(self.prune_max_share, "--prune-max-share")


@dataclass
class Survey:
    """What the run starts from: the settings, the profiles, and the static files found."""

    conf: Settings
    catalog: Catalog
    profile: Profile
    threads: int
    found: Found


def survey(opts: Options, out: Output) -> Survey:
    """Read the settings and profiles, check the options they meet, and find the files."""
    conf = get_settings()
    catalog = load_catalog(conf.profiles)
    name = opts.profile or conf.default_profile
    profile = catalog.get(name).with_patterns(opts.include, opts.exclude)
    for problem in catalog.problems_besides(name):
        out.warn(f"Not used in this run: {problem}")
    threads = opts.thread_count(conf)
    check_verify(opts)
    if opts.report_json:
        report.check_writable(opts.report_json)
    found = find_files(ignore_patterns(opts.ignore_patterns, opts.use_default_ignore_patterns))
    out.know(source.dest for source in found.files)
    return Survey(conf, catalog, profile, threads, found)


def profile_plans(start: Survey) -> dict[str, Plan]:
    """--list-profiles: what each profile that can be used selects of the files found."""
    catalog = start.catalog
    usable = [name for name in catalog.names if name not in catalog.problems]
    return {name: make_plan(start.found.files, catalog.profiles[name]) for name in usable}


def plan_deployment(start: Survey, opts: Options, cleanup: ExitStack, out: Output) -> Deployment:
    """The deployment the profile selects, built once; ``cleanup`` removes the staging
    folder, if any."""
    profile, found, conf = start.profile, start.found, start.conf
    for dest in found.duplicates:
        out.say(duplicate_line(dest), level=1)
    plan = make_plan(found.files, profile)
    check_plan(plan, opts.allow_empty)
    storage = target_storage()
    check_storage(storage)
    # Its calls that wait on the network leave the main thread free for signals.
    backend: Backend = InterruptibleBackend(backend_for(storage))
    if opts.link:
        backend.check_linkable()
    destination, threads = backend.destination(), backend.writer_count(start.threads)
    staged = None
    if opts.post_process and hashes_names(storage):
        staged = post_processed(plan, found.files, backend, cleanup, out)
        plan = staged.plan
    plan = with_profile_parameters(plan, backend, staged, out)
    out.say(
        f"Profile '{profile.name}' ({profile.origin}); {threads} threads; "
        f"storage {class_name(storage)}.",
        level=3,
    )
    run = None
    if not opts.verify and smart.enabled(
        opts.smart, opts.force, profile.smart, conf.smart, opts.prune
    ):
        run = start_smart_run(plan, backend, destination, smart_wanted(conf, opts, staged), out)
    return Deployment(
        plan,
        backend,
        destination,
        threads,
        staged=staged,
        smart=run,
        report_json=opts.report_json,
        link=found.files if opts.link else None,
        clearing=plan_clearing(backend, profile, conf, run, out) if opts.clear else None,
        invalidation=for_run(conf.cdn, opts.invalidate, opts.wait_invalidation),
        left_open=list_left_open(backend, plan, run, out) if opts.abort_uploads else None,
        # As the storage lists it: Azure drops a leading dot at the container's root.
        manifest_listed=backend.listed_name(run.store.name) if run else None,
    )


def duplicate_line(dest: str) -> str:
    """collectstatic's words for a second file with the same destination."""
    return (
        f"Found another file with the destination path '{dest}'. It will be "
        "ignored since only the first encountered file is collected."
    )


def post_processed(
    plan: Plan, files: list[SourceFile], backend: Backend, cleanup: ExitStack, out: Output
) -> Staged:
    """The plan post-processed in a staging folder that ``cleanup`` removes."""
    return cleanup.enter_context(
        staged_plan(
            plan,
            files,
            on_processed=lambda name, hashed: out.say(
                f"Post-processed '{name}' as '{hashed}'", level=2
            ),
            parent=backend.staging_parent(),
        )
    )


def check_verify(opts: Options) -> None:
    """--verify writes nothing: refuse the options that would write or delete."""
    if not opts.verify:
        return
    given = [
        name
        for name, on in (
            ("--clear", opts.clear),
            ("--prune", opts.prune),
            ("--force", opts.force),
            ("--abort-uploads", opts.abort_uploads),
            ("--link", opts.link),
        )
        if on
    ]
    if given:
        raise DeployError(
            f"--verify writes and deletes nothing, so it cannot be combined with "
            f"{', '.join(given)}. Run the deploy, then --verify on its own."
        )


def check_storage(storage: Storage) -> None:
    """Refuse storage settings every write would fail on, before any request."""
    problem = location_refusal(storage) or object_parameters.storage_refusal(
        getattr(storage, "object_parameters", None)
    )
    if problem:
        raise SettingsError(problem)


def list_left_open(backend: Backend, plan: Plan, run: Read | None, out: Output) -> LeftOpen | None:
    """--abort-uploads: what to abort, listed before the run writes or deletes anything;
    what it leaves and why, said at -v 2."""
    try:
        uploads = backend.left_uploads()
    except Exception as exc:
        reason = backend.describe_error(exc)
        raise DeployError(
            f"--abort-uploads: the uploads left open could not be listed ({reason}), so "
            f"nothing was aborted, deleted or uploaded. {verdict(reason)}"
        ) from exc
    if uploads is None:
        out.warn(
            f"--abort-uploads does nothing on {class_name(backend.storage)}: only S3 keeps "
            "uploads open (Azure's uncommitted blocks and Google Cloud Storage's resumable "
            "uploads expire on their own)."
        )
        return None
    ours = {source.dest for source in plan.all_files}
    if run is not None:
        ours.update(run.base.entries, run.base.pending)
    owned, left = clear.owned_uploads(plan.profile, uploads, ours)
    for name, why in left:
        out.say(f"--abort-uploads: leaving the upload of '{name}' open: {why}", level=2)
    return LeftOpen(owned, left)


def plan_clearing(
    backend: Backend, profile: Profile, conf: Settings, run: Read | None, out: Output
) -> clear.ClearPlan:
    """What --clear will delete, listed once; what it leaves and why, said."""
    clearing = clear.plan_clear(backend, profile, conf.manifest_name, keep_manifest=run is not None)
    for name in clearing.refused:
        out.error(
            f"--clear: not deleting '{name}': its name could reach outside the storage's location."
        )
    for name in clearing.markers:
        out.say(f"--clear: leaving the folder marker '{name}' (no file, holds nothing)", 2)
    return clearing


def check_plan(plan: Plan, allow_empty: bool) -> None:
    """Refuse a plan that selects nothing (unless allowed) or holds a file that cannot be read."""
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
            f"{listed}\nFix them (a file's permissions, a link's target) or remove them, then "
            "run again."
        )


def with_profile_parameters(
    plan: Plan, backend: Backend, staged: Staged | None, out: Output
) -> Plan:
    """``plan`` with each file's object parameters from its profile, or the run refused."""
    profile = plan.profile
    rules = profile.object_parameters
    if not rules:
        return plan
    carries = backend.carries
    if carries is None:
        raise ProfileError(
            object_parameters.unsupported(
                profile.name, profile.origin, rules, class_name(backend.storage)
            )
        )
    problems = object_parameters.refusals(rules, carries)
    if problems:
        raise ProfileError(object_parameters.refused(profile.name, profile.origin, problems))
    hashed = staged.hashed if staged else frozenset()
    if rules.for_hashed_copies and not hashed:
        if hashes_names(backend.storage):
            # --no-post-process: asked for, so said rather than warned of on every run.
            out.say(
                f"The rules for hashed copies of profile '{profile.name}' apply to no "
                "file: --no-post-process makes none.",
                2,
            )
        else:
            out.warn_later(
                f"Profile '{profile.name}' has object parameters for hashed copies, but "
                "this run makes none: the storage does not hash names. Deploy to this "
                "storage with a profile without 'hashed: true' rules."
            )
    plan = with_parameters(plan, rules, hashed)
    given = sum(1 for source in plan.all_files if source.parameters)
    out.say(f"Object parameters from profile '{profile.name}' for {given} files.", 3)
    return plan


def start_smart_run(
    plan: Plan, backend: Backend, destination: str, wanted: smart.Wanted, out: Output
) -> Read:
    """Smart mode: read the deploy manifest, and what this deploy records in it."""
    smart.check_one_off_selection(wanted.pruning is not None, wanted.one_off)
    run = smart.read(backend, plan, wanted, location=destination)
    out.say(
        f"Deploy manifest '{run.store.name}' of {destination}; this deploy is "
        f"recorded as profile '{plan.profile.name}' of project '{wanted.project}'"
        + (" (not recorded: --include/--exclude)." if wanted.one_off else "."),
        level=3,
    )
    if wanted.dry_run:
        check_dry_run_can_compare(run)
    check_manifest_reachable(run)
    if run.warning:
        out.warn(run.warning)
    return run


def smart_wanted(conf: Settings, opts: Options, staged: Staged | None) -> smart.Wanted:
    """What the settings and options ask of smart mode."""
    return smart.Wanted(
        conf.manifest_name,
        conf.project,
        opts.kept_deploys(conf),
        opts.force,
        Pruning(opts.max_share(conf)) if opts.prune else None,
        one_off=bool(opts.include or opts.exclude),
        copies=staged.copies if staged else frozenset(),
        dry_run=opts.dry_run,
    )


def check_manifest_reachable(run: Read) -> None:
    """A manifest read that failed because the storage cannot be used as configured (no
    such bucket, refused credentials, no answer) ends the run before any write: every
    write after it would fail alike."""
    problem = run.base.problem
    if problem and not run.base.found and failures.unusable(problem):
        raise DeployError(
            f"The deploy manifest '{run.store.name}' {problem.removeprefix('it ')}, so "
            "nothing was uploaded. "
            f"{failures.verdict(problem)}"
        )


def check_dry_run_can_compare(run: Read) -> None:
    """A dry run that could not read the manifest cannot say what changed: no guessing."""
    if run.base.problem and not run.base.found:
        raise DeployError(
            f"The deploy manifest '{run.store.name}' {run.base.problem.removeprefix('it ')}, "
            "so a dry run "
            f"cannot say which files changed. {failures.verdict(run.base.problem)}"
        )


def dry_run(deployment: Deployment, out: Output) -> None:
    """Say what the run would do, and end as the real run would, writing nothing."""
    would = would_happen(deployment)
    closing.end_dry_run(out, deployment, would)


def would_happen(deployment: Deployment) -> DryRun:
    """What the real run would do: each file's verdict, and in smart mode what it
    would prune, having hashed the files."""
    plan, run = deployment.plan, deployment.smart
    verdicts: tuple[Verdict, ...] | None = None  # every file would be uploaded
    kept, overlaps, stopped, changed = None, None, None, None
    doomed: list[str] = []
    if run is not None:
        if deployment.clearing:
            # What the real run compares against: the manifest as --clear leaves it.
            run = smart.cleared(run, clear.without_cleared(run.base, deployment.clearing))
        decided = smart.decide(
            run, plan.all_files, deployment.threads, deployment.backend.parameters
        )
        verdicts = tuple(
            (s, report.SKIPPED, None)
            if (why := decided.reason(s.dest)) == UNCHANGED
            else (s, report.WOULD_UPLOAD, why)
            for s in plan.all_files
        )
        doomed, stopped = smart.would_prune(run)
        if run.prune:
            kept = prune.kept(run.base.contents, run.shipped) if run.shipped is not None else None
        overlaps = overlap.warning(run, decided, plan.profile.name)
        changed = [*decided.changes, *doomed]
    return DryRun(
        verdicts,
        invalidation=invalidate.would_invalidate(deployment, changed),
        refused={s.dest: why for s in plan.all_files if (why := why_unnamed(s.dest))},
        overlap=overlaps,
        doomed=tuple(doomed) if run and run.prune else None,
        prune_kept=kept,
        prune_refused=stopped,
    )
