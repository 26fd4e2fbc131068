"""Settings for running ``collectstupid`` in a child process against the test S3 server.

The test that starts the process says where to deploy through two environment
variables: ``COLLECTSTUPID_TEST_STATIC_DIR`` (the source folder) and
``COLLECTSTUPID_TEST_STORAGE`` (S3Storage OPTIONS as JSON, without
``client_config``, which is not JSON and is built here). Optionally,
``COLLECTSTUPID_TEST_BACKEND`` names another storage class and
``COLLECTSTUPID_TEST_PART_MB`` sets the multipart threshold and part size.
"""

import json
import os

from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from tests.settings import *  # noqa: F403

STATICFILES_DIRS = [os.environ["COLLECTSTUPID_TEST_STATIC_DIR"]]
_PART = int(os.environ.get("COLLECTSTUPID_TEST_PART_MB", "8")) * 1024 * 1024
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": os.environ.get("COLLECTSTUPID_TEST_BACKEND", "storages.backends.s3.S3Storage"),
        "OPTIONS": {
            **json.loads(os.environ["COLLECTSTUPID_TEST_STORAGE"]),
            # As tests/s3_fixtures.py: django-storages ignores addressing_style
            # once client_config is given, so the Config repeats it.
            "client_config": Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"mode": "standard"},
            ),
            "transfer_config": TransferConfig(multipart_threshold=_PART, multipart_chunksize=_PART),
        },
    },
}
