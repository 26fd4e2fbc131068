"""One measured tool run, and how its S3 operations group into table columns."""

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

# Column -> S3 operations (names as the proxy classifies requests).
OP_GROUPS: dict[str, tuple[str, ...]] = {
    "PUT": ("PutObject", "CopyObject"),
    "MPU": (
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
    ),
    "HEAD": ("HeadObject", "HeadBucket"),
    "GET": ("GetObject",),
    "LIST": (
        "ListObjectsV2",
        "ListObjects",
        "ListMultipartUploads",
        "ListParts",
        "ListObjectVersions",
    ),
    "DELETE": ("DeleteObject", "DeleteObjects"),
}
GROUPED = {op for ops in OP_GROUPS.values() for op in ops}


@dataclass
class Row:
    scenario: str
    tool: str
    label: str
    status: str  # "ok", "failed" or "skipped"
    files: int  # files in the deploy (source tree)
    # Which of the ``--repeat`` runs this is (1-based); each has its own bucket.
    run: int = 1
    wall_s: float | None = None
    local_collect_s: float | None = None
    # CPU of the local collectstatic that aws and s5cmd upload from.
    local_collect_cpu_s: float | None = None
    peak_rss_mb: float | None = None
    cpu_s: float | None = None
    # CPU seconds of the S3 server and of the latency proxy during the run.
    server_cpu_s: float | None = None
    proxy_cpu_s: float | None = None
    ops: dict[str, int] = field(default_factory=dict)
    botocore_ops: dict[str, int] | None = None
    tool_report: dict[str, Any] | None = None
    bucket_objects: int | None = None
    # Bytes of collectstupid's deploy manifest in the bucket after the run (smart mode).
    manifest_bytes: int | None = None
    # TCP connections the tool opened to the proxy: shows connection reuse.
    connections: int | None = None
    # The machine's 1-minute load average when the run started: other work skews wall times.
    load_1m: float | None = None
    note: str = ""

    @property
    def total_calls(self) -> int:
        return sum(self.ops.values())

    def group(self, name: str) -> int:
        if name == "other":
            return sum(n for op, n in self.ops.items() if op not in GROUPED)
        return sum(self.ops.get(op, 0) for op in OP_GROUPS[name])

    @property
    def written(self) -> int:
        """Objects written: single PUTs plus completed multipart uploads."""
        return self.ops.get("PutObject", 0) + self.ops.get("CompleteMultipartUpload", 0)

    @property
    def calls_per_written(self) -> float | None:
        return self.total_calls / self.written if self.written else None

    @property
    def pipeline_wall_s(self) -> float | None:
        """Wall time of the whole deploy: with the local collectstatic a copier needs."""
        if self.wall_s is None:
            return None
        return self.wall_s + (self.local_collect_s or 0.0)

    @property
    def pipeline_cpu_s(self) -> float | None:
        """CPU of the whole deploy: the tool's plus its local collectstatic's."""
        if self.cpu_s is None:
            return None
        return self.cpu_s + (self.local_collect_cpu_s or 0.0)

    @property
    def cpu_ms_per_object(self) -> float | None:
        """The tool's own CPU milliseconds per object written (start-up included)."""
        if self.cpu_s is None or not self.written:
            return None
        return self.cpu_s * 1000 / self.written

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["total_calls"] = self.total_calls
        data["written"] = self.written
        data["calls_per_written"] = self.calls_per_written
        data["pipeline_wall_s"] = self.pipeline_wall_s
        data["pipeline_cpu_s"] = self.pipeline_cpu_s
        data["cpu_ms_per_object"] = self.cpu_ms_per_object
        data["by_group"] = {name: self.group(name) for name in [*OP_GROUPS, "other"]}
        return data


def disagreements(row: Row) -> list[str]:
    """Operations where botocore's own count differs from what the proxy saw."""
    if row.botocore_ops is None:
        return []
    seen = Counter(row.ops)
    sent = Counter(row.botocore_ops)
    return [
        f"{op}: proxy {seen[op]} vs botocore {sent[op]}"
        for op in sorted(set(seen) | set(sent))
        if seen[op] != sent[op]
    ]
