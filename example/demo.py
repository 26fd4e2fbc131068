"""Deploy the example project to a local S3 server, one profile at a time.

Run through ``python3 dev.py demo``. It starts SeaweedFS on 127.0.0.1, deploys
with ``--profile no-media`` and then ``--profile media-only`` (the two CI jobs
of a real project), lists what landed in the bucket, then deploys twice in smart
mode: the second run finds nothing changed and uploads nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent
ROOT = EXAMPLE.parent
sys.path.insert(0, str(ROOT))

from s3local.server import SeaweedServer  # noqa: E402

BUCKET = "example-static"
# weed flushes its data on SIGTERM, which can take 10 s; the demo's data is thrown
# away on the next run, so after this grace it is stopped outright.
STOP_GRACE = 1.0


def manage(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "manage.py", *args]
    print(f"\n$ python manage.py {' '.join(args)}", flush=True)
    code = subprocess.call(command, cwd=EXAMPLE, env=env)
    if code:
        sys.exit(code)


def main() -> None:
    workdir = ROOT / ".demo"
    shutil.rmtree(workdir, ignore_errors=True)
    with SeaweedServer(workdir) as server:
        server.create_bucket(BUCKET)
        print(f"Local S3 server at {server.endpoint_url}, bucket '{BUCKET}'.")
        env = {**os.environ, **server.env(), "EXAMPLE_BUCKET": BUCKET}
        manage(env, "collectstupid", "--list-profiles")
        manage(env, "collectstupid", "--profile", "no-media", "--noinput")
        manage(env, "collectstupid", "--profile", "media-only", "--noinput")
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
        # Smart mode: the first run records content hashes, the second finds nothing to do.
        manage(env, "collectstupid", "--profile", "full", "--smart", "--noinput")
        manage(env, "collectstupid", "--profile", "full", "--smart", "--noinput")
        shut_down(server)


def shut_down(server: SeaweedServer) -> None:
    """Stop the local server at once, saying so: a silent wait looks like a hang."""
    print(
        f"\nStopping the local S3 server (at most {STOP_GRACE:.0f} s; its data in "
        f"{server.workdir} is not kept).",
        flush=True,
    )
    server.stop(timeout=STOP_GRACE)
    print("Done.", flush=True)


if __name__ == "__main__":
    main()
