"""Deploy the example project to a local S3 server, one profile at a time.

Run through ``python3 dev.py demo``. It starts SeaweedFS on 127.0.0.1, lists the
profiles and shows with a dry run what the project's own ``lean`` profile would
ship, deploys with ``--profile no-media`` and then ``--profile media-only`` (the
two CI jobs of a real project), lists what landed in the bucket, then deploys
twice in smart mode: the first writes the deploy manifest, the second finds
nothing changed and uploads nothing. ``--port N`` (or ``DEMO_S3_PORT``) serves S3
on that port rather than a free one, to reach the bucket from other tools while
it runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent
ROOT = EXAMPLE.parent
sys.path.insert(0, str(ROOT))

from s3local.ports import is_free  # noqa: E402
from s3local.server import SeaweedServer  # noqa: E402

BUCKET = "example-static"
LOCATION = "static"
MANIFEST = ".collectstupid/manifest.json"
# weed flushes its data on SIGTERM, which can take 10 s; the demo's data is thrown
# away on the next run, so after this grace it is stopped outright.
STOP_GRACE = 1.0


def manage(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "manage.py", *args]
    print(f"\n$ python manage.py {' '.join(args)}", flush=True)
    code = subprocess.call(command, cwd=EXAMPLE, env=env)
    if code:
        sys.exit(code)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 dev.py demo", description=__doc__)
    default = os.environ.get("DEMO_S3_PORT")
    parser.add_argument(
        "--port",
        type=int,
        default=int(default) if default else None,
        help="S3 port of the local server (default: DEMO_S3_PORT, else a free port)",
    )
    options = parser.parse_args(argv)
    if options.port and not is_free(options.port):
        parser.exit(2, f"Port {options.port} is taken on 127.0.0.1: pick another with --port.\n")
    return options


def main(argv: list[str] | None = None) -> None:
    options = arguments(argv)
    workdir = ROOT / ".demo"
    shutil.rmtree(workdir, ignore_errors=True)
    with SeaweedServer(workdir, s3_port=options.port) as server:
        server.create_bucket(BUCKET)
        print(f"Local S3 server at {server.endpoint_url}, bucket '{BUCKET}'.")
        env = {**os.environ, **server.env(), "EXAMPLE_BUCKET": BUCKET}
        manage(env, "collectstupid", "--list-profiles")
        # example/profiles/lean.yaml, the project's own: what it would ship, writing nothing.
        manage(env, "collectstupid", "--profile", "lean", "--dry-run")
        manage(env, "collectstupid", "--profile", "no-media", "--noinput")
        manage(env, "collectstupid", "--profile", "media-only", "--noinput")
        check_bucket(server)
        # Smart mode: the first run records content hashes, the second finds nothing to do.
        manage(env, "collectstupid", "--profile", "full", "--smart", "--noinput")
        say_manifest(server)
        manage(env, "collectstupid", "--profile", "full", "--smart", "--noinput")
        shut_down(server)
    print("\nNext, your own project on a local S3, Azure or Google Cloud server: docs/try-it.md")


def check_bucket(server: SeaweedServer) -> None:
    """Print every object in the bucket; exit unless every static file landed."""
    client = server.client()
    listing = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    print(f"\nIn s3://{BUCKET}/ now ({len(listing)} objects):")
    for item in listing:
        head = client.head_object(Bucket=BUCKET, Key=item["Key"])
        print(f"  {item['Key']:<42} {item['Size']:>8} B  {head['ContentType']}")
    sources = [p for p in EXAMPLE.rglob("*") if p.is_file() and "static" in p.parts]
    if len(listing) != len(sources):
        sys.exit(f"Expected {len(sources)} objects, found {len(listing)}.")
    print(f"\nAll {len(sources)} static files landed: no-media + media-only = full.")


def say_manifest(server: SeaweedServer) -> None:
    """Say what the first smart run wrote besides the files: else it looks like waste."""
    key = f"{LOCATION}/{MANIFEST}"
    size = server.client().head_object(Bucket=BUCKET, Key=key)["ContentLength"]
    print(
        f"\nThat run uploaded every file once more and wrote the deploy manifest "
        f"s3://{BUCKET}/{key} ({size} B): each file's content hash, so the next "
        "smart run uploads only what changed.",
        flush=True,
    )


def shut_down(server: SeaweedServer) -> None:
    """Stop the local server at once, saying so (a silent wait looks like a hang), and
    delete its data, as said."""
    print(
        f"\nStopping the local S3 server (at most {STOP_GRACE:.0f} s; its data in "
        f"{server.workdir} is not kept).",
        flush=True,
    )
    server.stop(timeout=STOP_GRACE)
    shutil.rmtree(server.workdir, ignore_errors=True)
    print("Done.", flush=True)


if __name__ == "__main__":
    main()
