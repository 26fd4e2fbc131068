"""Local targets: collectstupid against collectstatic writing STATIC_ROOT on this machine.

No S3 server: each storage kind of the bench project (plain, hashed, WhiteNoise)
is deployed by both commands, one after the other, into a fresh folder, several
times; the order alternates so that a change of machine load hits both alike.
Reported: medians of wall and CPU seconds, the 1-minute load average seen
before each run, and whether the two folders hold the same names and bytes.

By default each command empties its folder just before it runs. On ext4,
creating files within seconds of deleting thousands costs extra kernel time
(the allocator skips recently freed inodes), paid per file created; with
``fresh_roots`` every run writes a new folder and all are removed at the end.
"""

import importlib.util
import json
import os
import shutil
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import measure, report
from bench.fixture import Fixture, prepare
from bench.runner import compile_sources
from bench.tools import Context

KINDS = {
    "local": "StaticFilesStorage",
    "local-hashed": "ManifestStaticFilesStorage",
    "local-whitenoise": "WhiteNoise CompressedManifestStaticFilesStorage",
}
TOOLS = ("collectstatic", "collectstupid")


@dataclass
class Sample:
    wall_s: float
    cpu_s: float | None
    load: float


@dataclass
class Row:
    kind: str
    storage: str
    files_written: int = 0
    identical: bool | None = None
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {t: [] for t in TOOLS})
    note: str = ""

    def median(self, tool: str, what: str) -> float | None:
        values = [getattr(s, what) for s in self.samples[tool]]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def ratio(self, what: str) -> float | None:
        ours, theirs = self.median("collectstupid", what), self.median("collectstatic", what)
        return ours / theirs if ours is not None and theirs else None


def _tree(root: Path) -> dict[str, bytes]:
    return {
        Path(d, f).relative_to(root).as_posix(): Path(d, f).read_bytes()
        for d, _, names in os.walk(root)
        for f in names
    }


def _argv(ctx: Context, tool: str) -> list[str]:
    if tool == "collectstatic":
        return ctx.manage("collectstatic", "--noinput")
    return ctx.manage("collectstupid", "--noinput", "--profile", "full")


def _one(ctx: Context, kind: str, tool: str, root: Path, timeout: float) -> Sample:
    shutil.rmtree(root, ignore_errors=True)
    env = ctx.django_env(
        "unused",
        kind,
        extra_apps=["collectstupid"] if tool == "collectstupid" else [],
        static_root=root,
    )
    load = os.getloadavg()[0]
    result = measure.run(_argv(ctx, tool), env, cwd=ctx.work, timeout=timeout)
    if not result.ok:
        raise RuntimeError(f"{tool} on {kind} failed:\n{result.tail()}")
    return Sample(result.wall_s, result.cpu_s, load)


def bench_kind(
    ctx: Context, kind: str, repeat: int, timeout: float, fresh_roots: bool = False
) -> Row:
    row = Row(kind, KINDS[kind])
    base = ctx.work / "local"
    roots = {tool: base / f"{tool}-{kind}" for tool in TOOLS}
    for n in range(repeat):
        order = TOOLS if n % 2 == 0 else TOOLS[::-1]
        for tool in order:
            if fresh_roots:
                roots[tool] = base / f"{tool}-{kind}-{n}"
            sample = _one(ctx, kind, tool, roots[tool], timeout)
            row.samples[tool].append(sample)
            print(
                f"    {kind} {tool} #{n + 1}: {sample.wall_s:.2f} s wall, "
                f"{_f(sample.cpu_s)} s CPU, load {sample.load:.1f}",
                flush=True,
            )
    theirs, ours = _tree(roots["collectstatic"]), _tree(roots["collectstupid"])
    row.files_written = len(theirs)
    row.identical = theirs == ours
    if not row.identical:
        row.note = (
            f"{len(set(theirs) ^ set(ours))} names differ, "
            f"{sum(theirs[k] != ours[k] for k in set(theirs) & set(ours))} contents"
        )
    return row


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: list[Row]) -> str:
    head = (
        "| storage | files written | collectstatic wall s | collectstupid wall s | ratio | "
        "collectstatic CPU s | collectstupid CPU s | ratio | load (1 min) | output |"
    )
    lines = [head, "|" + " --- |" * 10]
    for r in rows:
        loads = [s.load for t in TOOLS for s in r.samples[t]]
        lines.append(
            f"| {r.storage} | {r.files_written} | {_f(r.median('collectstatic', 'wall_s'))} | "
            f"{_f(r.median('collectstupid', 'wall_s'))} | {_f(r.ratio('wall_s'))} | "
            f"{_f(r.median('collectstatic', 'cpu_s'))} | {_f(r.median('collectstupid', 'cpu_s'))}"
            f" | {_f(r.ratio('cpu_s'))} | {min(loads):.1f}-{max(loads):.1f} | "
            f"{'identical' if r.identical else 'DIFFERENT: ' + r.note} |"
        )
    return "\n".join(lines)


def run_local(
    work: Path,
    results_dir: Path,
    files: int,
    seed: int,
    repeat: int,
    kinds: list[str],
    timeout: float,
    command: str,
    python: str,
    fresh_roots: bool = False,
) -> int:
    fixture: Fixture = prepare(work, files, seed)
    compile_sources(fixture)
    ctx = Context(
        fixture=fixture,
        work=work,
        endpoint="",
        access_key="",
        secret_key="",
        threads=16,
        hashed=False,
        python=python,
    )
    rows = []
    for kind in kinds:
        if kind == "local-whitenoise" and importlib.util.find_spec("whitenoise") is None:
            print(f"  {kind}: skipped (whitenoise is not installed)", flush=True)
            continue
        print(f"== {KINDS[kind]}", flush=True)
        rows.append(bench_kind(ctx, kind, repeat, timeout, fresh_roots))
    if fresh_roots:
        for root in (ctx.work / "local").glob("*-*-[0-9]*"):
            shutil.rmtree(root, ignore_errors=True)
    text = table(rows)
    print("\n" + text)
    results_dir.mkdir(parents=True, exist_ok=True)
    paths = fixture.static_files()
    meta = {
        "command": command,
        "fixture": f"{len(paths)} files, {sum(p.stat().st_size for p in paths) / 1e6:.1f} MB",
        "repeat": repeat,
        "machine": report.machine(),
    }
    (results_dir / "local.json").write_text(
        json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2) + "\n"
    )
    (results_dir / "local.md").write_text(
        f"`{command}`: {meta['fixture']}, medians of {repeat} runs each, "
        f"{meta['machine']['nproc']} cores ({meta['machine']['cpu']}), "
        f"Python {meta['machine']['python']}.\n\n{text}\n"
    )
    print(f"\nWrote {results_dir / 'local.json'} and {results_dir / 'local.md'}")
    return 0 if all(r.identical for r in rows) else 1
