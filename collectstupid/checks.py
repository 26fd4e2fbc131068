"""System checks for the COLLECTSTUPID setting, the profiles, the destination and the CDN's
client library (E001 to E005). They are deploy checks (``manage.py check --deploy``), so a
typo in a profile never stops ``migrate`` or ``runserver``. See docs/settings.md.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from collectstupid.backends import local_path
from collectstupid.conf import get_settings, missing_client
from collectstupid.errors import ProfileError, SettingsError
from collectstupid.profiles import load_catalog
from collectstupid.storage import target_storage

TAG = "collectstupid"


@register(TAG, deploy=True)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        conf = get_settings()
    except SettingsError as exc:
        return [
            Error(str(exc), hint="See the Settings section of the README.", id="collectstupid.E001")
        ]
    errors: list[CheckMessage] = []
    try:
        catalog = load_catalog(conf.profiles)
    except ProfileError as exc:
        return [Error(str(exc), hint="Fix COLLECTSTUPID['PROFILES'].", id="collectstupid.E002")]
    errors += [
        Error(
            str(problem),
            hint="Fix the profile file; patterns use .gitignore syntax.",
            id="collectstupid.E002",
        )
        for problem in catalog.problems.values()
    ]
    if conf.default_profile not in catalog.names:
        errors.append(
            Error(
                f"COLLECTSTUPID['DEFAULT_PROFILE'] names unknown profile '{conf.default_profile}'.",
                hint=f"Known profiles: {', '.join(catalog.names)}.",
                id="collectstupid.E003",
            )
        )
    try:
        local_path(target_storage())
    except SettingsError as exc:
        errors.append(Error(str(exc), id="collectstupid.E004"))
    if conf.cdn is not None and (problem := missing_client()):
        errors.append(Error(problem, id="collectstupid.E005"))
    return errors
