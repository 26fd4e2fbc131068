"""Instructions per PutObject through the deploy's S3 writer, counted by callgrind.

    python -m bench.putcost                        # 200 PutObjects of 9 KB files
    python -m bench.putcost --requests 500 --size 2000
    python -m bench.putcost --keep DIR             # keep callgrind.out for callgrind_annotate
    python -m bench.putcost --cold                 # count from the first write: each file
                                                   # type's first PutObject goes through botocore

Starts a SeaweedFS (no latency proxy), then runs this module under
``valgrind --tool=callgrind``: in one thread, a few warm-up writes, then N
writes through ``S3Writer`` (key, parameters, open, PutObject). Only the N
writes are counted: they run inside ``functools.reduce``, and callgrind
collects only while that C function runs (``--toggle-collect``), so start-up
and warm-up are left out. The count over N is the cost of one write: a figure
that does not move with the machine's load, unlike CPU seconds. The storage
is set up as the speed bench's (path style, checksums only when required).
Needs valgrind on PATH and an interpreter with its symbols; the server is not
traced.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

WARM_UP = 5


def storage_options(endpoint: str, bucket: str, access: str, secret: str) -> dict[str, object]:
    from botocore.config import Config

    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "access_key": access,
        "secret_key": secret,
        "region_name": "us-east-1",
        "location": "static",
        "file_overwrite": True,
        "addressing_style": "path",
        "default_acl": None,
        "querystring_auth": False,
        "client_config": Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    }


def write(args: argparse.Namespace) -> None:
    """The measured process: warm-up writes, then ``args.count`` more."""
    import django
    from django.conf import settings

    settings.configure(USE_TZ=True)
    django.setup()
    from django.core.files.storage import FileSystemStorage
    from storages.backends.s3 import S3Storage

    from collectstupid.collect import SourceFile
    from collectstupid.s3.sender import S3Sender
    from collectstupid.s3.writer import S3Writer

    source_dir = Path(args.source)
    names = sorted(p.name for p in source_dir.iterdir())
    source = FileSystemStorage(location=source_dir)
    storage = S3Storage(
        **storage_options(args.endpoint, args.bucket, args.access_key, args.secret_key)
    )
    client = S3Sender(storage)
    client.size_for(1)
    writer = S3Writer(storage, client)

    def step(_: None, n: int) -> None:
        name = names[n % len(names)]
        writer(SourceFile(f"app/{n}-{name}", source, name, args.size))

    warm_up = 0 if args.cold else WARM_UP
    for n in range(warm_up):
        step(None, n)
    # Callgrind counts only inside reduce (see the module's docstring).
    functools.reduce(step, range(warm_up, warm_up + args.count), None)


def fixture(folder: Path, size: int) -> None:
    """Files of ``size`` bytes with the extensions a static tree holds most."""
    for n, ext in enumerate(("css", "js", "svg", "png", "woff2", "json", "map", "txt")):
        (folder / f"asset{n}.{ext}").write_bytes(bytes((n + i) % 251 for i in range(size)))


def instructions(out_file: Path) -> int:
    """The run's total instruction count, from callgrind's ``summary:`` line."""
    text = out_file.read_text()
    match = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
    if match is None:
        sys.exit(f"no instruction total in {out_file}")
    return int(match.group(1))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.putcost")
    p.add_argument("--requests", type=int, default=200, help="PutObjects counted (default 200)")
    p.add_argument("--size", type=int, default=9000, help="bytes per file (default 9000)")
    p.add_argument("--keep", type=Path, help="folder for callgrind.out")
    p.add_argument(
        "--cold",
        action="store_true",
        help="no warm-up: the counted writes include the client's creation and each "
        "file type's first PutObject, which replayed ones are built from",
    )
    # The measured process's own arguments.
    p.add_argument("--write", type=int, dest="count", help=argparse.SUPPRESS)
    for name in ("endpoint", "bucket", "access-key", "secret-key", "source"):
        p.add_argument(f"--{name}", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.count is not None:
        write(args)
        return 0

    from s3local import SeaweedServer

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "files").mkdir()
        fixture(folder / "files", args.size)
        out = args.keep or folder
        out.mkdir(parents=True, exist_ok=True)
        out_file = out / "callgrind.out"
        with SeaweedServer(folder / "weed") as server:
            command = [
                "valgrind",
                "--tool=callgrind",
                "--collect-atstart=no",
                "--toggle-collect=functools_reduce",
                f"--callgrind-out-file={out_file}",
                sys.executable,
                "-m",
                "bench.putcost",
                f"--write={args.requests}",
                f"--size={args.size}",
                *(["--cold"] if args.cold else []),
                f"--endpoint={server.endpoint_url}",
                f"--bucket={server.create_bucket('putcost')}",
                f"--access-key={server.access_key}",
                f"--secret-key={server.secret_key}",
                f"--source={folder / 'files'}",
            ]
            # A fixed hash seed: dict and set layouts, so the counts, repeat.
            env = {**os.environ, "PYTHONHASHSEED": "0"}
            subprocess.run(command, check=True, env=env, stderr=subprocess.DEVNULL)
        total = instructions(out_file)
    if total == 0:
        sys.exit("callgrind counted nothing: does this Python keep its symbols (functools_reduce)?")
    print(f"{args.requests} PutObjects of {args.size} bytes: {total:,} instructions")
    print(f"per PutObject: {total / args.requests / 1e6:.3f} million instructions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
