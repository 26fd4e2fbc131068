"""moto's server mode: AWS APIs with no emulator of their own (CloudFront), on loopback."""

from __future__ import annotations

import sys

from emulators.process import EmulatorProcess
from s3local.http1 import Head


class MotoServer(EmulatorProcess):
    """``moto_server`` (PyPI ``moto[server]``): any client with fake credentials reaches it
    through its endpoint URL, such as ``AWS_ENDPOINT_URL_CLOUDFRONT``."""

    name = "moto"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/moto-api/"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def cloudfront_operation(head: Head) -> str:
    """The CloudFront API operation of a request (``/2020-05-31/distribution/ID/...``)."""
    segments = [s for s in head.target.split("?", 1)[0].split("/") if s]
    if len(segments) == 4 and segments[1:2] == ["distribution"] and segments[3] == "invalidation":
        return {"POST": "CreateInvalidation", "GET": "ListInvalidations"}.get(head.method, "Other")
    if len(segments) == 5 and segments[3] == "invalidation" and head.method == "GET":
        return "GetInvalidation"
    return "Other"
