"""Settings of the bench project, all driven by environment variables set by bench/run.py.

BENCH_STORAGE picks the staticfiles backend:
  s3            storages.backends.s3.S3Storage
  s3-hashed     storages.backends.s3.S3ManifestStaticStorage
  local         FileSystemStorage into BENCH_STATIC_ROOT (input of aws / s5cmd)
  local-hashed  ManifestStaticFilesStorage into BENCH_STATIC_ROOT
  local-whitenoise  WhiteNoise's CompressedManifestStaticFilesStorage into BENCH_STATIC_ROOT
BENCH_EXTRA_APPS lists apps put before django.contrib.staticfiles (collectfasta must
come first so its collectstatic command wins; collectstupid only where measured).
"""

import os
import sys
from pathlib import Path
from typing import Any

from botocore.config import Config

env = os.environ

APPS_DIR = Path(env["BENCH_APPS_DIR"])
# The fixture's apps live outside the repo; make them importable so
# AppDirectoriesFinder finds their static/ dirs like in a real project.
sys.path.insert(0, str(APPS_DIR))
FIXTURE_APPS = [name for name in env["BENCH_APPS"].split(",") if name]
EXTRA_APPS = [name for name in env.get("BENCH_EXTRA_APPS", "").split(",") if name]

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = [*EXTRA_APPS, "django.contrib.staticfiles", *FIXTURE_APPS]
DATABASES: dict[str, Any] = {}
STATIC_URL = "/static/"
STATIC_ROOT = env.get("BENCH_STATIC_ROOT", str(APPS_DIR.parent / "static-root"))
STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.AppDirectoriesFinder"]

S3_OPTIONS: dict[str, Any] = {
    "bucket_name": env.get("BENCH_S3_BUCKET", "bench"),
    "endpoint_url": env.get("BENCH_S3_ENDPOINT", "http://127.0.0.1:8333"),
    "access_key": env.get("BENCH_S3_ACCESS_KEY", ""),
    "secret_key": env.get("BENCH_S3_SECRET_KEY", ""),
    "region_name": "us-east-1",
    "location": "static",
    "file_overwrite": True,
    "addressing_style": "path",
    # A given client_config replaces the one django-storages would build from
    # addressing_style, so it must carry the path style itself. Checksums only
    # when required: SeaweedFS stores aws-chunked bodies otherwise.
    "client_config": Config(
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    ),
}

BACKENDS = {
    "s3": "storages.backends.s3.S3Storage",
    "s3-hashed": "storages.backends.s3.S3ManifestStaticStorage",
    "local": "django.contrib.staticfiles.storage.StaticFilesStorage",
    "local-hashed": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
    "local-whitenoise": "whitenoise.storage.CompressedManifestStaticFilesStorage",
}
STORAGE_KIND = env.get("BENCH_STORAGE", "s3")
STORAGES: dict[str, Any] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": BACKENDS[STORAGE_KIND],
        "OPTIONS": S3_OPTIONS if STORAGE_KIND.startswith("s3") else {},
    },
}

THREADS = int(env.get("BENCH_THREADS", "16"))

# collectfasta: only read when "collectfasta" is in BENCH_EXTRA_APPS.
COLLECTFASTA_STRATEGY = (
    "collectfasta.strategies.boto3.Boto3ManifestMemoryStrategy"
    if STORAGE_KIND == "s3-hashed"
    else "collectfasta.strategies.boto3.Boto3Strategy"
)
COLLECTFASTA_THREADS = THREADS
COLLECTFASTA_CACHE = "collectfasta"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # One entry per file; the default MAX_ENTRIES (300) would evict hashes mid-run.
    "collectfasta": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 1_000_000},
    },
}

# collectstupid: only read when "collectstupid" is in BENCH_EXTRA_APPS.
# The bench counts botocore's calls by wrapping _make_api_call (sitecustomize), which
# keeps a deploy on botocore's public path unless the fast path is switched on; a
# deploy without such a wrapper takes it by default. BENCH_FAST_PATH=0 measures the
# public path.
COLLECTSTUPID: dict[str, Any] = {
    "THREADS": THREADS,
    "FAST_PATH": os.environ.get("BENCH_FAST_PATH", "1") != "0",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
