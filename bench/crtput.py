"""Raw awscrt PUTs of a directory: the floor of AWS's native S3 engine, for comparison.

    python -m bench.crtput DIR s3://BUCKET/PREFIX --endpoint-url URL [--workers N]

Not a deploy tool: one PutObject per file with the Content-Type from the file
name, signed and sent by awscrt (C), files read by awscrt itself. It shows how
little CPU per object the engine spends, which is what adopting it as an
optional extra would be for. Credentials and region come from AWS_* variables.
"""

from __future__ import annotations

import argparse
import mimetypes
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from urllib.parse import quote, urlsplit


def files_under(root: Path) -> Iterator[Path]:
    for folder, _, names in os.walk(root):
        for name in names:
            yield Path(folder, name)


def main(argv: Sequence[str] | None = None) -> int:
    from awscrt.auth import AwsCredentialsProvider
    from awscrt.http import HttpHeaders, HttpRequest
    from awscrt.io import ClientBootstrap, DefaultHostResolver, EventLoopGroup
    from awscrt.s3 import S3Client, S3RequestTlsMode, S3RequestType

    p = argparse.ArgumentParser(prog="python -m bench.crtput")
    p.add_argument("source", type=Path)
    p.add_argument("target")
    p.add_argument("--endpoint-url", required=True)
    p.add_argument("--workers", type=int, default=16)
    args = p.parse_args(argv)
    target = urlsplit(args.target)
    bucket, prefix = target.netloc, target.path.strip("/")
    endpoint = urlsplit(args.endpoint_url)

    loop = EventLoopGroup(1)
    bootstrap = ClientBootstrap(loop, DefaultHostResolver(loop))
    credentials = AwsCredentialsProvider.new_static(
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    )
    client = S3Client(
        bootstrap=bootstrap,
        region=os.environ.get("AWS_REGION", "us-east-1"),
        credential_provider=credentials,
        tls_mode=S3RequestTlsMode.DISABLED,
        # Roughly what --workers connections of small PUTs reach; the CRT sizes
        # its connection pool from this target.
        throughput_target_gbps=max(1.0, args.workers / 8),
        multipart_upload_threshold=8 * 1024 * 1024,
        part_size=8 * 1024 * 1024,
    )
    pending: list[tuple[Path, Future[None], object]] = []
    failed = 0
    paths = sorted(files_under(args.source))
    for path in paths:
        key = f"{prefix}/{path.relative_to(args.source).as_posix()}".lstrip("/")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = HttpHeaders(
            [
                ("Host", endpoint.netloc),
                ("Content-Length", str(path.stat().st_size)),
                ("Content-Type", content_type),
            ]
        )
        request = HttpRequest("PUT", f"/{bucket}/{quote(key)}", headers)
        s3_request = client.make_request(
            type=S3RequestType.PUT_OBJECT, request=request, send_filepath=str(path)
        )
        pending.append((path, s3_request.finished_future, s3_request))
    for path, future, _ in pending:
        try:
            future.result()
        except Exception as exc:  # every file's outcome, as the peers report them
            failed += 1
            print(f"failed: {path}: {exc}", file=sys.stderr)
    print(f"{len(paths) - failed} of {len(paths)} files uploaded")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
