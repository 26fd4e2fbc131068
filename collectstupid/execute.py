"""The writes of a deploy, in their order: --clear's deletions first, then every file,
the manifests that name them last, the deploy manifest, and --prune's deletions."""

from __future__ import annotations

from collectstupid import clear, failures, overlap, prune, report
from collectstupid.deploy import Deployment, Executed, manifest_cut_short
from collectstupid.errors import Interrupted, ManifestError
from collectstupid.interrupt import Signals
from collectstupid.link import link_writer
from collectstupid.loaded import adopt_manifest
from collectstupid.output import Output
from collectstupid.redact import redact
from collectstupid.upload import (
    CANCELLED,
    FAILED,
    Outcome,
    Pool,
    Writer,
    not_started,
    upload_in_order,
)


def clear_first(deployment: Deployment, out: Output) -> clear.ClearResult | None:
    """--clear: delete what the profile selects, before the upload."""
    clearing, run = deployment.clearing, deployment.smart
    if clearing is None:
        return None

    def on_deleted(name: str, error: str) -> None:
        if error:
            # Each at -v 2; the closing error names the first few and the cause once.
            if out.verbosity >= 2:
                out.error(f"Failed to delete '{name}': {error}")
        else:
            out.say(f"Deleting '{name}'", level=2)

    cleared = deployment.cleared = clear.ClearResult()
    clear.clear(
        deployment.backend,
        clearing,
        deployment.threads,
        run.store if run else None,
        run.base if run else None,
        on_deleted,
        cleared,
    )
    if run and cleared.manifest is not None:
        run.cleared(cleared.manifest)
    return cleared


def abort_left_uploads(deployment: Deployment, out: Output) -> None:
    """--abort-uploads: before this run opens any, abort the uploads left open."""
    aborted, problems = deployment.backend.abort_left_uploads()
    for name in aborted:
        out.say(f"Aborted an upload left open: '{name}'", level=2)
    out.say(f"{report.plural(len(aborted), 'upload')} left open aborted.", level=1)
    for problem in problems:
        out.warn(redact(f"Could not abort an upload left open: {problem}"))


def upload(deployment: Deployment, signals: Signals, out: Output) -> Executed:
    """Every file once, the manifests that name them last, then the deploy manifest."""
    plan, backend, run = deployment.plan, deployment.backend, deployment.smart
    with out.progress(plan.bytes, len(plan.all_files)) as bar:
        failed = failures.LivePrinter(out.verbosity)

        def on_done(outcome: Outcome) -> None:
            bar.update(outcome.source.size)
            if outcome.status == FAILED:
                if (line := failed.line(outcome)) is not None:
                    out.error(line)
            elif outcome.status != CANCELLED:
                # Only what was sent (or skipped as unchanged): a file never started,
                # such as a manifest held back, gets no "Copying" line.
                out.say(report.file_line(outcome, deployment.link is not None), level=2)

        backend.prepare(deployment.threads)
        retried_before = backend.retries
        if deployment.abort_uploads:
            abort_left_uploads(deployment, out)
        if run:
            try:
                # Hashing, then a manifest write: a first signal lets them finish (and no
                # upload starts after), a second stops the run; any marker the write left
                # is one the next run takes over, as from a run that died.
                with signals.raising(after=1):
                    run.prepare(plan, deployment.threads)
                if (warning := overlap.warning(run, deployment.profile.name)) is not None:
                    out.warn(warning)
            except ManifestError as exc:
                # The manifest could not stop vouching for the old files: send none.
                unsent = not_started(plan.all_files, "the manifest could not be updated first")
                unsent.retries = backend.retries - retried_before
                return Executed(unsent, manifest_error=str(exc))
        returned = False
        leftovers: list[str] = []
        try:
            write: Writer = backend.write
            if deployment.link is not None:
                write = link_writer(backend.storage, deployment.link, write)
            write = run.wrap(write) if run else write
            pool = Pool(
                deployment.threads,
                on_done,
                signals.stop,
                backend.describe_error,
                signals.abort,
                inline=backend.inline_writes,
            )
            result = upload_in_order(plan.files, plan.last, write, pool)
            returned = True
        finally:
            bar.close()
            if not returned or signals.abort.is_set():
                # Workers may still be sending: what they started must not stay open.
                leftovers = backend.abort_writes()
    for note in backend.notes():
        out.say(note, level=2)
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
            on_deleted=lambda path: out.say(f"Pruned '{path}'", level=2),
        )
        for path, why in pruned.kept.items():
            out.say(f"Not pruning '{path}': {why}", level=2)
        for path, why in pruned.kept.items():
            out.say(f"Not pruning '{path}': {why}", level=2)
        # Each at -v 2; the closing error names the first few and the cause once.
        for path, why in pruned.failed.items() if out.verbosity >= 2 else ():
            out.error(redact(f"Could not prune '{path}': {why}"))
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
        signum=signals.last if signals.received else None,
    )
