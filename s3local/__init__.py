"""A real S3 server on loopback, for tests and benchmarks.

``SeaweedServer`` runs SeaweedFS (``weed mini``) with signatures enforced,
``S3Proxy`` sits in front of it to add latency, count S3 operations and inject
faults, and ``BotocoreCalls`` counts what is sent through botocore's endpoints.
"""

from s3local.calls import BotocoreCalls
from s3local.faults import FaultPlan
from s3local.operations import classify
from s3local.proxy import S3Proxy
from s3local.server import SeaweedServer, WeedNotFound

__all__ = ["BotocoreCalls", "FaultPlan", "S3Proxy", "SeaweedServer", "WeedNotFound", "classify"]
