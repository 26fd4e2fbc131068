"""docs/try-it.md followed as written: each recipe's server started with its own
command, a small project given the recipe's settings, and its deploy command run.

The commands run as the page gives them, in a shell, on free ports given through
the environment variable each recipe offers for another port (so two test runs
on this machine, as tox runs environments in parallel, never meet). The install
commands are not run (the test environment has the packages); each package they
name is checked to be installed.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from emulators.azurite import ACCOUNT, KEY, TOOLS
from s3local.ports import GRPC_OFFSET, is_free, pick_ports

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "try-it.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)
ASSETS = {"css/site.css": "body { color: teal }", "js/app.js": "console.log(1)"}

BASE_SETTINGS = """\
from pathlib import Path

SECRET_KEY = "try-it"
INSTALLED_APPS = ["django.contrib.staticfiles", "storages", "collectstupid"]
STATIC_URL = "static/"
STATICFILES_DIRS = [Path(__file__).resolve().parent / "assets"]
USE_TZ = True

"""

MANAGE = """\
import os
import sys

from django.core.management import execute_from_command_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trysettings")
execute_from_command_line(sys.argv)
"""


@dataclass
class Recipe:
    install: list[str]  # what to install (checked, not run)
    server: str  # the command that starts the server
    steps: list[str]  # commands to run once it answers
    settings: str
    deploy: str


def recipe(title: str, page: Path = PAGE) -> Recipe:
    """The blocks of the page's section ``title``, in the order the page gives them."""
    text = page.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    blocks = BLOCK.findall(text[start : end if end != -1 else None])
    commands = [body.strip() for kind, body in blocks if kind == "sh"]
    (settings,) = [body for kind, body in blocks if kind == "python"]
    return Recipe(
        install=commands[0].split(),
        server=commands[1],
        steps=commands[2:-1],
        settings=settings,
        deploy=commands[-1],
    )


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports whose gRPC twins (+10000) are free
    too, as SeaweedFS wants them."""
    for first, _ in zip(pick_ports(64), range(64), strict=False):
        wanted = [first + i for i in range(count)]
        if all(is_free(p) and is_free(p + GRPC_OFFSET) for p in wanted):
            return first
    raise AssertionError(f"no {count} consecutive free ports found")


def environment(ports: dict[str, str] | None = None) -> dict[str, str]:
    """A shell as a user has it: this venv's commands first, no test settings, and the
    project under test importable before any installed copy."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "DJANGO_", "AZURE_", "STORAGE_EMULATOR"))
    }
    return {
        **keep,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{keep.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        **(ports or {}),
    }


def wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path, ready: str) -> None:
    """Until ``port`` answers and the server's output holds ``ready``."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()[-2000:]
        if port_answers(port) and ready in log.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"nothing answered on port {port}:\n{log.read_text()[-2000:]}")


@contextmanager
def running(
    command: str, cwd: Path, port: int, ready: str = "", ports: dict[str, str] | None = None
) -> Iterator[None]:
    if port_answers(port):
        pytest.fail(f"port {port}, which the recipe uses, is taken on this machine")
    log = cwd / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            ["bash", "-c", command],
            cwd=cwd,
            env=environment(ports),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, server, log, ready)
        yield
    finally:
        # The recipes' data is thrown away: no need to wait for a clean shutdown.
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        # The server runs under bash: until it is gone too, the next recipe (another
        # environment of the matrix, under the same lock) would find its port taken.
        deadline = time.monotonic() + 30
        while port_answers(port) and time.monotonic() < deadline:
            time.sleep(0.1)


def port_answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def shell(command: str, cwd: Path, ports: dict[str, str] | None = None, code: int = 0) -> str:
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=environment(ports),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == code, done.stdout + done.stderr
    return done.stdout + done.stderr


def project(tmp_path: Path, settings: str) -> Path:
    for name, text in ASSETS.items():
        path = tmp_path / "assets" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "manage.py").write_text(MANAGE)
    (tmp_path / "trysettings.py").write_text(BASE_SETTINGS + settings)
    return tmp_path


def assert_installed(install: list[str]) -> None:
    tool, verb, *packages = install
    assert (tool, verb) in {("pip", "install"), ("npm", "install")}, install
    for package in packages:
        if tool == "pip":
            assert importlib.metadata.version(package), package
        elif not (TOOLS / "node_modules" / package / "package.json").is_file():
            if os.environ.get("CI"):
                pytest.fail(f"{package} is not installed in {TOOLS}")
            pytest.skip(f"{package} is not installed in {TOOLS} (python3 dev.py test does it)")


def deploy_twice(recipe_: Recipe, root: Path, ports: dict[str, str]) -> None:
    """The recipe's deploy, then the same command in smart mode twice."""
    out = shell(recipe_.deploy, root, ports)
    assert "2 static files copied to '" in out and "/static'" in out, out
    smart = f"{recipe_.deploy} --smart"
    shell(smart, root, ports)
    out = shell(smart, root, ports)
    assert "0 static files copied" in out and "2 unmodified" in out, out


def test_s3_recipe(tmp_path):
    steps = recipe("S3: SeaweedFS")
    assert_installed(steps.install)
    root = project(tmp_path, steps.settings)
    # The page: "It answers on port 8333 once it prints `Press Ctrl+C ...`".
    banner = "Press Ctrl+C to stop all components"
    assert f"port 8333 once it prints `{banner}`" in PAGE.read_text().replace("\n", " ")
    port = free_ports(5)  # S3 and the four parts after it
    ports = {"S3_PORT": str(port)}
    with running(steps.server, root, port, banner, ports):
        for command in steps.steps:
            shell(command, root, ports)
        deploy_twice(steps, root, ports)
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id="local",
            aws_secret_access_key="local-secret",
            region_name="us-east-1",
        )
        for name, text in ASSETS.items():
            body = client.get_object(Bucket="static", Key=f"static/{name}")["Body"].read()
            assert body == text.encode(), name
        # A misspelled bucket fails as on AWS, rather than being made on the fly.
        settings = root / "trysettings.py"
        settings.write_text(settings.read_text().replace('"static",', '"statik",', 1))
        out = shell(steps.deploy, root, ports, code=1)
        assert "NoSuchBucket" in out, out
        assert "statik" not in {b["Name"] for b in client.list_buckets()["Buckets"]}
    assert (root / ".seaweedfs").is_dir()  # where the page says its data goes


def test_azure_recipe(tmp_path):
    steps = recipe("Azure Blob Storage: Azurite")
    assert_installed(steps.install)
    root = project(tmp_path, steps.settings)
    port = free_ports(1)
    ports = {"AZURITE_PORT": str(port)}
    # npx finds the Azurite that `npm install` put in the folder it runs in.
    with running(f"cd {shlex.quote(str(TOOLS))} && {steps.server}", root, port, ports=ports):
        for command in steps.steps:
            shell(command, root, ports)
        deploy_twice(steps, root, ports)
        from azure.storage.blob import BlobServiceClient

        container = BlobServiceClient(
            f"http://127.0.0.1:{port}/{ACCOUNT}",
            credential={"account_name": ACCOUNT, "account_key": KEY},
        ).get_container_client("static")
        for name, text in ASSETS.items():
            assert container.download_blob(f"static/{name}").readall() == text.encode(), name


def test_gcs_recipe(tmp_path):
    steps = recipe("Google Cloud Storage: gcp-storage-emulator")
    assert_installed(steps.install)
    root = project(tmp_path, steps.settings)
    port = free_ports(1)
    ports = {"GCS_PORT": str(port)}
    with running(steps.server, root, port, ports=ports):
        for command in steps.steps:
            shell(command, root, ports)
        deploy_twice(steps, root, ports)
        from tests.emulator_fixtures import gcs_client

        bucket = gcs_client(f"http://127.0.0.1:{port}").bucket("static")
        for name, text in ASSETS.items():
            assert bucket.blob(f"static/{name}").download_as_bytes() == text.encode(), name


def test_cdn_recipe(tmp_path):
    # docs/cdn.md's way to try invalidations without AWS, followed the same way.
    steps = recipe("Try it without AWS", ROOT / "docs" / "cdn.md")
    assert_installed(["pip", "install", "moto"])
    assert steps.install == ["pip", "install", '"moto[server]"']
    root = project(tmp_path, steps.settings + f"STATIC_ROOT = {str(tmp_path / 'root')!r}\n")
    port = free_ports(1)
    ports = {"MOTO_PORT": str(port)}
    with running(steps.server, root, port, ports=ports):
        # The exports hold for the deploy: one shell, as one terminal.
        out = shell("\n".join([*steps.steps, steps.deploy]), root, ports)
    assert "2 static files copied to '" in out, out
    assert re.search(r"Invalidated 2 paths on CloudFront distribution [A-Z0-9]+ \(", out), out
