"""The demo ends promptly and says what it waits for."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from s3local import SeaweedServer

DEMO = Path(__file__).resolve().parent.parent / "example" / "demo.py"


def test_the_demo_says_it_stops_the_server_and_leaves_it_stopped(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("demo", DEMO)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    server = SeaweedServer(tmp_path).start()
    try:
        demo.shut_down(server)
    finally:
        server.stop()
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Stopping the local S3 server (at most 1 s;")
    assert lines[-1] == "Done."
    assert not server.running
