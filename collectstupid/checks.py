"""System checks: a bad COLLECTSTUPID setting or profile shows in ``manage.py check``.

Ids: E001 the setting, E002 a profile, E003 the default profile is unknown.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from collectstupid.conf import get_settings
from collectstupid.errors import ProfileError, SettingsError
from collectstupid.profiles import load_profiles

TAG = "collectstupid"


@register(TAG)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    try:
        conf = get_settings()
    except SettingsError as exc:
        return [Error(str(exc), hint="See the Settings section of the README.",
                      id="collectstupid.E001")]
    try:
        profiles = load_profiles(conf.profiles)
    except ProfileError as exc:
        return [Error(str(exc), hint="Fix the profile file; patterns use .gitignore syntax.",
                      id="collectstupid.E002")]
    if conf.default_profile not in profiles:
        return [Error(
            f"COLLECTSTUPID['DEFAULT_PROFILE'] names unknown profile "
            f"'{conf.default_profile}'.",
            hint=f"Known profiles: {', '.join(sorted(profiles))}.",
            id="collectstupid.E003",
        )]
    return []
