"""Django settings for the test suite; tests override storage and finders per test."""

import tempfile
from pathlib import Path

SECRET_KEY = "collectstupid-tests"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "collectstupid",
]
DATABASES = {}
STATIC_URL = "/static/"
STATIC_ROOT = str(Path(tempfile.gettempdir()) / "collectstupid-tests-static-root")
STATICFILES_DIRS: list = []
STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
