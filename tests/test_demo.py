"""The demo: what it says is what it does, it ends promptly, and it leaves nothing behind."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from s3local import SeaweedServer
from s3local.ports import pick_ports

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "example" / "demo.py"


def load_demo():
    spec = importlib.util.spec_from_file_location("demo", DEMO)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    return demo


def test_the_demo_says_it_stops_the_server_and_leaves_it_stopped(tmp_path, capsys):
    demo = load_demo()
    server = SeaweedServer(tmp_path / "demo").start()
    try:
        demo.shut_down(server)
    finally:
        server.stop()
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Stopping the local S3 server (at most 1 s;")
    assert "is not kept" in lines[0]
    assert lines[-1] == "Done."
    assert not server.running
    assert not server.workdir.exists()  # not kept, as it said


def test_the_port_comes_from_the_option_or_the_environment(monkeypatch, capsys, tmp_path):
    demo = load_demo()
    free = pick_ports(1)[0]
    monkeypatch.delenv("DEMO_S3_PORT", raising=False)
    assert demo.arguments([]).port is None
    assert demo.arguments(["--port", str(free)]).port == free
    monkeypatch.setenv("DEMO_S3_PORT", str(free))
    assert demo.arguments([]).port == free
    with SeaweedServer(tmp_path, s3_port=free) as server:
        assert server.port == free
        with pytest.raises(SystemExit) as exited:
            demo.arguments(["--port", str(free)])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        f"Port {free} is taken on 127.0.0.1: pick another with --port.\n"
    )


def test_the_demo_runs_end_to_end_on_the_port_asked_for():
    port = pick_ports(1)[0]
    # As from a shell: the project's own settings, not the tests'.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_"))}
    done = subprocess.run(
        [sys.executable, str(DEMO), "--port", str(port)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert out.startswith(f"Local S3 server at http://127.0.0.1:{port}, bucket 'example-static'.")
    # Every profile it lists, it uses: the project's own 'lean' in a dry run.
    assert "\n$ python manage.py collectstupid --profile lean --dry-run\n" in out
    assert "left out by profile 'lean'. Dry run: nothing was written." in out
    assert (
        "That run uploaded every file once more and wrote the deploy manifest "
        "s3://example-static/static/.collectstupid/manifest.json ("
    ) in out
    assert out.index("wrote the deploy manifest") < out.rindex("13 unmodified")
    assert out.rstrip().endswith(
        "Next, your own project on a local S3, Azure or Google Cloud server: docs/try-it.md"
    )
    assert not (ROOT / ".demo").exists()
