"""Settings for running ``collectstupid`` in a child process against a local folder.

``COLLECTSTUPID_TEST_STATIC_DIR`` is the source folder and
``COLLECTSTUPID_TEST_STORAGE`` the OPTIONS (JSON) of tests.storages.PausingStorage.
"""

import json
import os

from tests.settings import *  # noqa: F403

STATICFILES_DIRS = [os.environ["COLLECTSTUPID_TEST_STATIC_DIR"]]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "tests.storages.PausingStorage",
        "OPTIONS": json.loads(os.environ["COLLECTSTUPID_TEST_STORAGE"]),
    },
}
