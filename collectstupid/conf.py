"""The ``COLLECTSTUPID`` setting: one dict, read and validated in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings

from collectstupid.errors import SettingsError

DEFAULTS: dict[str, Any] = {
    "PROFILES": [],
    "DEFAULT_PROFILE": "no-media",
    "THREADS": 16,
    # Smart mode (see manifest.py): off by default, so a plain run makes no manifest request.
    "SMART": False,
    "MANIFEST_NAME": ".collectstupid/manifest.json",
}


@dataclass(frozen=True)
class Settings:
    profiles: tuple[Path, ...]
    default_profile: str
    threads: int
    smart: bool = False
    manifest_name: str = ".collectstupid/manifest.json"


def _raw() -> dict[str, Any]:
    value = getattr(django_settings, "COLLECTSTUPID", {})
    if not isinstance(value, dict):
        raise SettingsError(
            f"COLLECTSTUPID must be a dict, not {type(value).__name__}."
        )
    unknown = sorted(set(value) - set(DEFAULTS))
    if unknown:
        raise SettingsError(
            f"COLLECTSTUPID has unknown key(s): {', '.join(map(str, unknown))}. "
            f"Known keys: {', '.join(sorted(DEFAULTS))}."
        )
    return {**DEFAULTS, **value}


def _profiles(value: Any) -> tuple[Path, ...]:
    if isinstance(value, str | Path):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str | Path) for v in value):
        raise SettingsError(
            "COLLECTSTUPID['PROFILES'] must be a path or a list of paths "
            "(profile files or folders of them)."
        )
    return tuple(Path(v) for v in value)


def get_settings() -> Settings:
    """The validated settings, or a SettingsError saying which key is wrong."""
    raw = _raw()
    default_profile = raw["DEFAULT_PROFILE"]
    if not isinstance(default_profile, str) or not default_profile:
        raise SettingsError("COLLECTSTUPID['DEFAULT_PROFILE'] must be a profile name (a string).")
    threads = raw["THREADS"]
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise SettingsError(
            f"COLLECTSTUPID['THREADS'] must be a whole number of at least 1, not {threads!r}."
        )
    if not isinstance(raw["SMART"], bool):
        raise SettingsError(f"COLLECTSTUPID['SMART'] must be True or False, not {raw['SMART']!r}.")
    return Settings(
        profiles=_profiles(raw["PROFILES"]),
        default_profile=default_profile,
        threads=threads,
        smart=raw["SMART"],
        manifest_name=_manifest_name(raw["MANIFEST_NAME"]),
    )


def _manifest_name(value: Any) -> str:
    # The name is joined under the storage's location: it must not climb out of it.
    parts = value.split("/") if isinstance(value, str) else []
    if not parts or "\\" in value or any(p in ("", ".", "..") for p in parts):
        raise SettingsError(
            "COLLECTSTUPID['MANIFEST_NAME'] must be a relative path such as "
            f"'.collectstupid/manifest.json' (no '..', '.', '//' or backslash), not {value!r}."
        )
    return value
