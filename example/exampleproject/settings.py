"""A small shop whose static files deploy to S3 with collectstupid.

The S3 connection comes from the environment (the demo's local server sets
it): AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, and
EXAMPLE_BUCKET for the bucket name.
"""

import os
from pathlib import Path

from botocore.config import Config

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
ROOT_URLCONF = "exampleproject.urls"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "storages",
    "collectstupid",
    "shop",
]
DATABASES = {}

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("EXAMPLE_BUCKET", "example-static"),
            "endpoint_url": os.environ.get("AWS_ENDPOINT_URL"),
            "region_name": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "location": "static",
            "addressing_style": "path",
            "querystring_auth": False,
            "object_parameters": {"CacheControl": "max-age=86400"},
            # django-storages ignores addressing_style once client_config is given.
            "client_config": Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        },
    },
}

COLLECTSTUPID = {
    # Project profiles sit beside the built-ins (no-media, media-only, full).
    "PROFILES": [BASE_DIR / "profiles"],
    "DEFAULT_PROFILE": "no-media",
    "THREADS": 16,
}
