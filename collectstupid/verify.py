"""``--verify``: does the storage hold what this build and profile would ship?

One listing of the location gives each object's size and, where the storage keeps one,
the MD5 of its bytes (a single-part S3 ETag, Azure's Content-MD5, GCS's md5Hash); a local
storage's bytes are read. Each file this run would ship (hashed copies included) is
compared with what is listed; an object whose listing gives no MD5 (an S3 multipart
upload, a body the storage gzipped, an object encrypted with SSE-KMS) is compared
through the deploy manifest's SHA-256, read only then. Nothing is written. Missing and
different objects fail the run; objects under the location that the profile selects and
this build does not ship are listed as information. See docs/verify.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectstupid import github_actions, output, report
from collectstupid.backends import Backend, Listed
from collectstupid.collect import SourceFile
from collectstupid.deployment import Deployment
from collectstupid.errors import DeployError, ReportedError
from collectstupid.failures import verdict
from collectstupid.manifest import Entry
from collectstupid.output import Output, escape_name
from collectstupid.profiles import Plan

MISSING = "missing"
DIFFERENT = "different"
EXTRA = "extra"
# The size matches, and neither the listing nor the manifest says anything of the bytes.
UNCHECKED = "unchecked"
CHUNK = 1 << 20
# Failures named one per line in the output; the JSON report lists every one.
LISTED = 50


@dataclass(frozen=True)
class Finding:
    """One name that is not as this build ships it: its kind and why."""

    name: str
    kind: str
    reason: str = ""


@dataclass
class Verified:
    """What --verify found under one destination."""

    destination: str
    profile: str
    shipped: int
    listed: int
    matched: int = 0
    # Matched through the deploy manifest's hashes (the listing gave no MD5).
    by_manifest: int = 0
    findings: list[Finding] = field(default_factory=list)

    def named(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.kind in (MISSING, DIFFERENT)]


def digests(source: SourceFile) -> tuple[str, str]:
    """MD5 and SHA-256 of a file this build ships, read in chunks."""
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with source.storage.open(source.path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            md5.update(chunk)
            sha256.update(chunk)
    return md5.hexdigest(), sha256.hexdigest()


def same_bytes(source: SourceFile, path: str) -> bool:
    """Whether the local file at ``path`` holds exactly the bytes of ``source``."""
    with source.storage.open(source.path, "rb") as ours, open(path, "rb") as theirs:
        while True:
            mine = ours.read(CHUNK)
            if mine != theirs.read(len(mine) or 1):
                return False
            if not mine:
                return True


# How the storage keeps a file when its listing's hash says nothing of the file's bytes.
GZIPPED = "gzipped"  # compressed by the storage: other bytes, another size
ENCRYPTED = "encrypted"  # SSE-KMS or SSE-C on S3: the ETag is no MD5 of the bytes


def stored_as(backend: Backend, source: SourceFile) -> str:
    """GZIPPED, ENCRYPTED, or '' when the storage keeps the file's own bytes under a
    plain hash; from what the backend sends with the file, asking nothing remote."""
    params = backend.parameters(source) or {}
    if params.get("gzip") or params.get("ContentEncoding") == "gzip":
        return GZIPPED
    if str(params.get("ServerSideEncryption", "")).startswith("aws:kms") or params.get(
        "SSECustomerAlgorithm"
    ):
        return ENCRYPTED
    return ""


def compare(
    source: SourceFile, obj: Listed | None, entry: Entry | None, how: str = ""
) -> tuple[str, str]:
    """(kind, reason) for one shipped file against its listed object; kind '' if it
    matches, 'manifest' if it matches by the deploy manifest's hash. ``how``: from
    :func:`stored_as`."""
    if obj is None:
        return MISSING, "not in the storage"
    if obj.size != source.size and how != GZIPPED:
        return DIFFERENT, f"{obj.size} bytes, this build's has {source.size}"
    if obj.path is not None:
        return ("", "") if same_bytes(source, obj.path) else (DIFFERENT, "other bytes")
    md5, sha256 = digests(source)
    if obj.md5 is not None and obj.md5 == md5:
        return "", ""
    if obj.md5 is not None and not how:
        return DIFFERENT, f"MD5 {obj.md5}, this build's is {md5}"
    if entry is None:
        return UNCHECKED, "the storage gives no MD5 and the deploy manifest records none"
    if entry.sha256 != sha256 or (entry.size != obj.size and how != GZIPPED):
        return DIFFERENT, "the deploy manifest records other bytes than this build's"
    return "manifest", ""


def list_location(backend: Backend) -> dict[str, Listed]:
    """The one listing --verify makes, by name; folder markers left out."""
    try:
        return {o.name: o for o in backend.list_objects() if not o.name.endswith("/")}
    except Exception as exc:
        reason = backend.describe_error(exc)
        raise DeployError(
            f"--verify: the storage could not be listed ({reason}), so nothing was "
            f"compared. {verdict(reason)}"
        ) from exc


def manifest_entries(backend: Backend, manifest_name: str) -> Mapping[str, Entry]:
    """The deploy manifest's entries: none without a manifest (what the listing cannot
    check is then unchecked); a read that fails ends the run."""
    try:
        snapshot = backend.manifest_store(manifest_name).read()
    except Exception as exc:
        reason = backend.describe_error(exc)
        raise DeployError(
            f"--verify: the deploy manifest '{manifest_name}' could not be read ({reason}), "
            f"so nothing was compared. {verdict(reason)}"
        ) from exc
    # A path a run announced it is writing may hold bytes the entry does not describe.
    return {p: e for p, e in snapshot.entries.items() if p not in snapshot.pending}


def verify(backend: Backend, plan: Plan, manifest_name: str, threads: int) -> Verified:
    """Compare what ``plan`` ships with one listing of the location; write nothing."""
    listing = list_location(backend)
    shipped = {backend.listed_name(s.dest): s for s in plan.all_files}
    opaque = {name: how for name, s in shipped.items() if (how := stored_as(backend, s))}
    entries: Mapping[str, Entry] = {}
    unhashed = (o for n, o in listing.items() if n in shipped and o.md5 is o.path is None)
    if opaque or any(unhashed):
        entries = manifest_entries(backend, manifest_name)
    result = Verified(backend.destination(), plan.profile.name, len(shipped), len(listing))

    def one(item: tuple[str, SourceFile]) -> tuple[str, str, str]:
        name, source = item
        try:
            kind, why = compare(
                source, listing.get(name), entries.get(source.dest), opaque.get(name, "")
            )
        except OSError as exc:  # a local copy gone or unreadable since the listing
            kind, why = DIFFERENT, f"could not be read ({backend.describe_error(exc)})"
        return name, kind, why

    with ThreadPoolExecutor(max(1, min(threads, len(shipped))), "collectstupid") as pool:
        for name, kind, why in pool.map(one, sorted(shipped.items())):
            if kind in ("", "manifest"):
                result.matched += 1
                result.by_manifest += kind == "manifest"
            else:
                result.findings.append(Finding(name, kind, why))
    own = backend.listed_name(manifest_name)
    for name in sorted(listing.keys() - shipped.keys() - {own}):
        if plan.profile.select(name):
            result.findings.append(Finding(name, EXTRA, "not shipped by this build"))
    return result


def lines(result: Verified) -> list[str]:
    """The table of what is not as this build ships it, failures first, a line each."""
    failed = result.failed
    width = max((len(escape_name(f.name)) for f in failed[:LISTED]), default=0)
    rows = [f"  {f.kind:<10} {escape_name(f.name):<{width}}  {f.reason}" for f in failed]
    shown = rows[:LISTED]
    if len(rows) > LISTED:
        shown.append(f"  ... and {len(rows) - LISTED} more (--report-json lists each).")
    return shown


def summary(result: Verified) -> str:
    """The closing line, whatever was found."""
    counts = [f"{result.matched} match"]
    counts += [f"{len(result.named(kind))} {kind}" for kind in (MISSING, DIFFERENT, UNCHECKED)]
    extra = len(result.named(EXTRA))
    return (
        f"Verified {report.plural(result.shipped, 'file')} against '{result.destination}' "
        f"({report.plural(result.listed, 'object')} listed): {', '.join(counts)}; "
        f"{extra} extra (under the location, not shipped by this build)."
    )


def report_section(result: Verified) -> dict[str, Any]:
    """The ``verify`` section of the JSON report."""
    return {
        "destination": result.destination,
        "shipped_files": result.shipped,
        "listed_objects": result.listed,
        "matched_files": result.matched,
        "matched_by_manifest": result.by_manifest,
        **{
            kind: [{"destination": f.name, "reason": f.reason} for f in result.named(kind)]
            for kind in (MISSING, DIFFERENT, UNCHECKED, EXTRA)
        },
    }


def markdown_code(name: str) -> str:
    """A name as inline code in a Markdown list item, escaped."""
    return "`" + escape_name(name).replace("`", "'") + "`"


def job_summary(result: Verified) -> str:
    """The job summary's Markdown section."""
    mark = "\u274c" if result.failed else "\u2705"
    rows = [
        ("Destination", f"`{result.destination}`"),
        ("Match", f"{result.matched} of {result.shipped}"),
        *((kind.capitalize(), str(len(result.named(kind)))) for kind in (MISSING, DIFFERENT)),
        ("Extra (information)", str(len(result.named(EXTRA)))),
    ]
    text = [f"### {mark} collectstupid --verify: profile `{result.profile}`", ""]
    text += ["| Check | Result |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    if result.findings:
        text.append("")
    text += [
        f"- {f.kind}: {markdown_code(f.name)} {f.reason}".rstrip() for f in result.findings[:LISTED]
    ]
    if len(result.findings) > LISTED:
        text.append(f"- ... and {len(result.findings) - LISTED} more (--report-json lists each)")
    return "\n".join(text) + "\n\n"


def write_report(path: Path, deployment: Deployment, result: Verified, error: str | None) -> None:
    """The JSON report: each shipped file's verdict as its status, and the verify section."""
    kinds = {f.name: (f.kind, f.reason) for f in result.findings}
    would = [
        (s, *kinds.get(deployment.backend.listed_name(s.dest), ("matches", None)))
        for s in deployment.plan.all_files
    ]
    ending = report.Ending(1 if error else 0, error)
    data = report.report_data(deployment.plan, would, result.destination, False, ending)
    data["verify"] = report_section(result)
    output.write_json(path, data)


def run(deployment: Deployment, manifest_name: str, out: Output) -> None:
    """--verify: compare, say what was found, and fail on what is missing or different."""
    result = verify(deployment.backend, deployment.plan, manifest_name, deployment.threads)
    for finding in result.findings:
        if finding.kind in (EXTRA, UNCHECKED):
            out.say(
                f"{finding.kind.capitalize()}: '{escape_name(finding.name)}' ({finding.reason})"
            )
    out.say(summary(result))
    failed = result.failed
    error = None
    if failed:
        error = (
            f"--verify: {len(failed)} of the {report.plural(result.shipped, 'file')} this "
            f"build ships {'is' if len(failed) == 1 else 'are'} missing or different in "
            f"'{result.destination}':\n"
            + "\n".join(lines(result))
            + "\nDeploy again to put them back, or find what changed them."
        )
    if deployment.report_json:
        write_report(deployment.report_json, deployment, result, error)
    github_actions.publish_section(
        out, [f"{f.kind}: {escape_name(f.name)}" for f in failed], job_summary(result)
    )
    if error:
        raise ReportedError(error) if deployment.report_json else DeployError(error)
