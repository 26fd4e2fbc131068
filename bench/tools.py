"""The deploy tools under test, each run as its own subprocess against its own bucket.

A tool knows how to build its command line and environment, and, for the generic
S3 copiers (aws, s5cmd), how to lay out the local `collectstatic` output they
upload. That local step is timed separately: a real pipeline pays it too, but it
is not S3 work.
"""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import measure
from bench.fixture import Fixture

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
PROJECT_DIR = BENCH_DIR / "project"
SITECUSTOMIZE_DIR = BENCH_DIR / "sitecustomize"
LOCATION = "static"


@dataclass(frozen=True)
class Context:
    """What every tool run shares: the fixture, the endpoint and the knobs."""

    fixture: Fixture
    work: Path
    endpoint: str
    access_key: str
    secret_key: str
    threads: int
    hashed: bool
    python: str = sys.executable

    @property
    def bindir(self) -> Path:
        return Path(self.python).parent

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BENCH_"))}
        env.update(
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret_key,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_REGION="us-east-1",
            # Keep any personal AWS config of the machine out of the measurement.
            AWS_CONFIG_FILE=str(self.aws_config()),
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def django_env(
        self,
        bucket: str,
        storage: str,
        extra_apps: Sequence[str] = (),
        static_root: Path | None = None,
        calls_json: Path | None = None,
    ) -> dict[str, str]:
        env = self.base_env()
        paths = [str(SITECUSTOMIZE_DIR), str(PROJECT_DIR), str(REPO_DIR)]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env.update(
            PYTHONPATH=os.pathsep.join(paths),
            DJANGO_SETTINGS_MODULE="benchsite.settings",
            BENCH_APPS_DIR=str(self.fixture.apps_dir),
            BENCH_APPS=",".join(self.fixture.apps),
            BENCH_EXTRA_APPS=",".join(extra_apps),
            BENCH_STORAGE=storage,
            BENCH_S3_ENDPOINT=self.endpoint,
            BENCH_S3_BUCKET=bucket,
            BENCH_S3_ACCESS_KEY=self.access_key,
            BENCH_S3_SECRET_KEY=self.secret_key,
            BENCH_THREADS=str(self.threads),
        )
        if static_root is not None:
            env["BENCH_STATIC_ROOT"] = str(static_root)
        if calls_json is not None:
            env["BENCH_BOTOCORE_CALLS_JSON"] = str(calls_json)
        return env

    def manage(self, *args: str) -> list[str]:
        return [self.python, str(PROJECT_DIR / "manage.py"), *args]

    def aws_config(self) -> Path:
        """An AWS CLI / SDK config with the same client settings the Django tools get."""
        path = self.work / "aws-config"
        path.write_text(
            "[default]\n"
            "region = us-east-1\n"
            "request_checksum_calculation = when_required\n"
            "response_checksum_validation = when_required\n"
            "s3 =\n"
            f"  max_concurrent_requests = {self.threads}\n"
            "  addressing_style = path\n"
        )
        return path


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    env: dict[str, str]
    # Where the tool leaves its own report or botocore counts, if anywhere.
    report_json: Path | None = None
    calls_json: Path | None = None
    # Seconds spent on the local collectstatic the tool uploads from, if any.
    local_collect_s: float | None = None
    local_collect_cpu_s: float | None = None
    notes: list[str] = field(default_factory=list)


class ToolError(RuntimeError):
    """A tool could not be prepared (missing binary, failed local collectstatic)."""


class Tool:
    """Base: a name, an availability check and an invocation."""

    name = ""
    label = ""
    # What the version is reported under; tools sharing a package share a line.
    package = ""

    def missing(self, ctx: Context) -> str | None:
        """Why this tool cannot run here, or None."""
        return None

    def invocation(self, ctx: Context, bucket: str, run_dir: Path, scenario: str) -> Invocation:
        raise NotImplementedError

    def version(self, ctx: Context) -> str:
        return ""


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _s3_storage(ctx: Context) -> str:
    return "s3-hashed" if ctx.hashed else "s3"


class Collectstatic(Tool):
    name = "collectstatic"
    label = "Django collectstatic (S3Storage)"
    package = "django-storages"

    def invocation(self, ctx: Context, bucket: str, run_dir: Path, scenario: str) -> Invocation:
        calls = run_dir / "botocore-calls.json"
        env = ctx.django_env(bucket, _s3_storage(ctx), calls_json=calls)
        return Invocation(ctx.manage("collectstatic", "--noinput"), env, calls_json=calls)

    def version(self, ctx: Context) -> str:
        return _dist_version("django-storages")


class Collectfasta(Tool):
    name = "collectfasta"
    label = "collectfasta (Boto3 strategy)"
    package = "collectfasta"

    def missing(self, ctx: Context) -> str | None:
        if _dist_version("collectfasta") == "not installed":
            return "collectfasta is not installed (pip install -r bench/requirements.txt)"
        return None

    def invocation(self, ctx: Context, bucket: str, run_dir: Path, scenario: str) -> Invocation:
        calls = run_dir / "botocore-calls.json"
        env = ctx.django_env(bucket, _s3_storage(ctx), ["collectfasta"], calls_json=calls)
        return Invocation(ctx.manage("collectstatic", "--noinput"), env, calls_json=calls)

    def version(self, ctx: Context) -> str:
        return _dist_version("collectfasta")


class _LocalCopier(Tool):
    """A generic S3 copier that uploads the output of a local collectstatic."""

    binary = ""

    def missing(self, ctx: Context) -> str | None:
        if measure.which(self.binary, ctx.bindir) is None:
            return f"{self.binary} not found (pip install -r bench/requirements.txt)"
        return None

    def collect_locally(self, ctx: Context, run_dir: Path) -> tuple[Path, measure.Measured]:
        # A fresh directory every time, as on a CI runner: the local copy never
        # carries over state that would let the copier skip files.
        root = run_dir / "collected"
        shutil.rmtree(root, ignore_errors=True)
        storage = "local-hashed" if ctx.hashed else "local"
        env = ctx.django_env("unused", storage, static_root=root)
        result = measure.run(ctx.manage("collectstatic", "--noinput"), env, cwd=run_dir)
        if not result.ok:
            raise ToolError(f"local collectstatic failed:\n{result.tail()}")
        return root, result

    def invocation(self, ctx: Context, bucket: str, run_dir: Path, scenario: str) -> Invocation:
        root, local = self.collect_locally(ctx, run_dir)
        argv = self.copy_argv(ctx, root, bucket)
        return Invocation(
            argv, ctx.base_env(), local_collect_s=local.wall_s, local_collect_cpu_s=local.cpu_s
        )

    def copy_argv(self, ctx: Context, root: Path, bucket: str) -> list[str]:
        raise NotImplementedError


class AwsSync(_LocalCopier):
    name = "aws-s3-sync"
    label = "aws s3 sync (of a local collectstatic)"
    binary = "aws"
    package = "awscli"

    def copy_argv(self, ctx: Context, root: Path, bucket: str) -> list[str]:
        aws = measure.which(self.binary, ctx.bindir) or self.binary
        return [
            aws, "s3", "sync", str(root), f"s3://{bucket}/{LOCATION}",
            "--endpoint-url", ctx.endpoint, "--no-progress", "--only-show-errors",
        ]  # fmt: skip

    def version(self, ctx: Context) -> str:
        return _dist_version("awscli")


class S5cmdCp(_LocalCopier):
    name = "s5cmd-cp"
    label = "s5cmd cp (of a local collectstatic)"
    binary = "s5cmd"
    package = "s5cmd"

    def copy_argv(self, ctx: Context, root: Path, bucket: str) -> list[str]:
        s5cmd = measure.which(self.binary, ctx.bindir) or self.binary
        return [
            s5cmd, "--endpoint-url", ctx.endpoint, "--numworkers", str(ctx.threads),
            "--log", "error", "cp", f"{root}/*", f"s3://{bucket}/{LOCATION}/",
        ]  # fmt: skip

    def version(self, ctx: Context) -> str:
        s5cmd = measure.which(self.binary, ctx.bindir)
        if s5cmd is None:
            return "not installed"
        done = subprocess.run([s5cmd, "version"], capture_output=True, text=True)
        return done.stdout.strip() or _dist_version("s5cmd")


class AwscrtPut(_LocalCopier):
    """Raw awscrt PUTs (bench/crtput.py): the native engine's floor, not a deploy tool."""

    name = "awscrt-put"
    label = "raw awscrt PUTs (of a local collectstatic)"
    package = "awscrt"

    def missing(self, ctx: Context) -> str | None:
        if _dist_version("awscrt") == "not installed":
            return "awscrt is not installed (pip install awscrt)"
        return None

    def copy_argv(self, ctx: Context, root: Path, bucket: str) -> list[str]:
        return [
            ctx.python, "-m", "bench.crtput", str(root), f"s3://{bucket}/{LOCATION}",
            "--endpoint-url", ctx.endpoint, "--workers", str(ctx.threads),
        ]  # fmt: skip

    def invocation(self, ctx: Context, bucket: str, run_dir: Path, scenario: str) -> Invocation:
        inv = super().invocation(ctx, bucket, run_dir, scenario)
        env = {**inv.env, "PYTHONPATH": str(REPO_DIR)}
        return Invocation(
            inv.argv, env,
            local_collect_s=inv.local_collect_s, local_collect_cpu_s=inv.local_collect_cpu_s,
        )  # fmt: skip

    def version(self, ctx: Context) -> str:
        return _dist_version("awscrt")


COMMAND_FILE = REPO_DIR / "collectstupid" / "management" / "commands" / "collectstupid.py"


class Collectstupid(Tool):
    name = "collectstupid"
    label = "collectstupid --profile full"
    package = "collectstupid"
    smart = False
    _help: str | None = None

    def missing(self, ctx: Context) -> str | None:
        if not COMMAND_FILE.exists():
            return "the collectstupid command does not exist yet"
        if self.smart and "--smart" not in self.help_text(ctx):
            return "this collectstupid has no --smart option yet"
        return None

    def help_text(self, ctx: Context) -> str:
        # Options are detected from --help, so the bench keeps working while
        # the command grows features.
        if Collectstupid._help is None:
            env = ctx.django_env("unused", "s3", ["collectstupid"])
            done = subprocess.run(
                ctx.manage("collectstupid", "--help"), env=env, capture_output=True, text=True
            )
            Collectstupid._help = done.stdout if done.returncode == 0 else ""
        return Collectstupid._help

    def invocation(self, ctx: Context, bucket: str, run_dir: Path, scenario: str) -> Invocation:
        help_text = self.help_text(ctx)
        calls = run_dir / "botocore-calls.json"
        env = ctx.django_env(bucket, _s3_storage(ctx), ["collectstupid"], calls_json=calls)
        argv = ctx.manage("collectstupid", "--profile", "full", "--noinput")
        if "--threads" in help_text:
            argv += ["--threads", str(ctx.threads)]
        if self.smart:
            argv.append("--smart")
        report = None
        if "--report-json" in help_text:
            report = run_dir / "collectstupid-report.json"
            argv += ["--report-json", str(report)]
        return Invocation(argv, env, report_json=report, calls_json=calls)

    def version(self, ctx: Context) -> str:
        # The bench runs the command from this checkout, installed or not.
        init = (REPO_DIR / "collectstupid" / "__init__.py").read_text()
        found = re.search(r'^__version__ = "([^"]+)"', init, re.MULTILINE)
        done = subprocess.run(
            ["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        )
        return f"{found.group(1) if found else '?'} (git {done.stdout.strip() or '?'})"


class CollectstupidSmart(Collectstupid):
    name = "collectstupid-smart"
    label = "collectstupid --profile full --smart"
    smart = True


ALL_TOOLS: tuple[Tool, ...] = (
    Collectstatic(),
    Collectfasta(),
    AwsSync(),
    S5cmdCp(),
    AwscrtPut(),
    Collectstupid(),
    CollectstupidSmart(),
)
TOOLS_BY_NAME = {tool.name: tool for tool in ALL_TOOLS}
