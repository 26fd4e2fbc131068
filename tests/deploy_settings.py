"""Settings for running ``collectstupid`` in a child process against the test S3 server.

The test that starts the process says where to deploy through two environment
variables: ``COLLECTSTUPID_TEST_STATIC_DIR`` (the source folder) and
``COLLECTSTUPID_TEST_STORAGE`` (S3Storage OPTIONS as JSON, without
``client_config``, which is not JSON and is built here).
"""

import json
import os

from botocore.config import Config

from tests.settings import *  # noqa: F403

STATICFILES_DIRS = [os.environ["COLLECTSTUPID_TEST_STATIC_DIR"]]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "storages.backends.s3.S3Storage",
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
        },
    },
}
