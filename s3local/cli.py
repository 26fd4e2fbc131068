"""``python -m s3local serve``: run the server (and proxy) for scripts and demos."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from s3local.proxy import S3Proxy
from s3local.server import SeaweedServer, WeedNotFound


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m s3local", description="A local S3 server (SeaweedFS) for tests and demos."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run until SIGINT or SIGTERM, after printing shell export lines",
        description="Start SeaweedFS on 127.0.0.1 (and a latency proxy if asked), print "
        "'export' lines for its endpoint and credentials, and run until SIGINT or SIGTERM.",
    )
    serve.add_argument("--dir", type=Path, required=True, help="data and logs (kept across runs)")
    serve.add_argument(
        "--latency-ms",
        type=float,
        default=None,
        help="put a proxy in front that adds this many ms in each direction "
        "(a round trip gains twice this); the exported endpoint is the proxy's",
    )
    serve.add_argument(
        "--bucket", action="append", default=[], help="create this bucket (repeatable)"
    )
    serve.add_argument("--access-key", default="collectstupid")
    serve.add_argument("--secret-key", default="collectstupid-secret")
    serve.add_argument(
        "--no-auto-create-bucket",
        action="store_true",
        help="a PUT to a missing bucket fails with NoSuchBucket instead of creating it",
    )
    serve.add_argument(
        "--print-env-file",
        type=Path,
        default=None,
        help="also write the export lines to this file once ready (removed on exit)",
    )
    return parser


def _write_atomically(path: Path, text: str) -> None:
    # A script polling for the file must never read it half written.
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def serve(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    server = SeaweedServer(
        args.dir.resolve(),
        access_key=args.access_key,
        secret_key=args.secret_key,
        auto_create_bucket=not args.no_auto_create_bucket,
    )
    proxy: S3Proxy | None = None
    env_file: Path | None = args.print_env_file
    try:
        server.start()
        for bucket in args.bucket:
            server.create_bucket(bucket)
        if args.latency_ms is not None:
            proxy = S3Proxy(server.port, latency=args.latency_ms / 1000).start()
        lines = "\n".join(server.export_lines(proxy.endpoint_url if proxy else None)) + "\n"
        if env_file is not None:
            _write_atomically(env_file, lines)
        sys.stdout.write(lines)
        sys.stdout.flush()
        while not stop.wait(0.5):
            if not server.running:
                print(f"weed exited unexpectedly:\n{server.log_tail()}", file=sys.stderr)
                return 1
        return 0
    finally:
        if env_file is not None:
            env_file.unlink(missing_ok=True)
        if proxy is not None:
            proxy.stop()
        server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return serve(args)
    except (WeedNotFound, RuntimeError) as exc:
        print(f"s3local: {exc}", file=sys.stderr)
        return 1
