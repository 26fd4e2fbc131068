"""The ``COLLECTSTUPID`` setting: one dict, read and validated in one place.

``DEFAULTS`` is the one home of every default; other modules import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings

from collectstupid.errors import SettingsError
from collectstupid.paths import is_safe_relative

DEFAULTS: dict[str, Any] = {
    "PROFILES": [],
    "DEFAULT_PROFILE": "no-media",
    "THREADS": 16,
    # Smart mode (see manifest.py): off by default, so a plain run makes no manifest request.
    "SMART": False,
    "MANIFEST_NAME": ".collectstupid/manifest.json",
    # --prune keeps the hashed copies of this many deploys of a profile, the current one
    # included: pages and CDNs still holding the previous HTML keep finding theirs.
    "KEEP_DEPLOYS": 2,
    # S3's fast path (replayed PutObjects, docs/cpu.md): None decides per run, True uses it
    # even where tracing handlers listen to botocore's calls, False never.
    "FAST_PATH": None,
}
# Past a few hundred, more threads only queue on the connection pool and the GIL, while
# each one costs a connection and a read buffer: a typo such as 10000000 must not get them.
MAX_THREADS = 256
# S3 refuses keys longer than 1024 bytes (UTF-8); the location comes on top of the name.
MAX_KEY_BYTES = 1024
# Each kept deploy costs the manifest a list of hashed names; no cache outlives a hundred.
MAX_KEEP_DEPLOYS = 100


@dataclass(frozen=True)
class Settings:
    profiles: tuple[Path, ...]
    default_profile: str
    threads: int
    smart: bool = DEFAULTS["SMART"]
    manifest_name: str = DEFAULTS["MANIFEST_NAME"]
    keep_deploys: int = DEFAULTS["KEEP_DEPLOYS"]
    fast_path: bool | None = DEFAULTS["FAST_PATH"]


def _raw() -> dict[str, Any]:
    value = getattr(django_settings, "COLLECTSTUPID", {})
    if not isinstance(value, dict):
        raise SettingsError(f"COLLECTSTUPID must be a dict, not {type(value).__name__}.")
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
    return tuple(project_path(v) for v in value)


def project_path(value: str | Path) -> Path:
    """A settings path: relative ones start at BASE_DIR, so any working folder finds them.

    Without a BASE_DIR setting they start at the current folder, as Python's own paths do.
    """
    path = Path(value).expanduser()
    base = getattr(django_settings, "BASE_DIR", None)
    if path.is_absolute() or not isinstance(base, str | Path):
        return path
    return Path(base) / path


def threads_value(value: Any, source: str) -> int:
    """A thread count from ``source`` (the setting or the option), checked against the bound."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingsError(f"{source} must be a whole number of at least 1, not {value!r}.")
    if value > MAX_THREADS:
        raise SettingsError(
            f"{source} is {value}, more than the {MAX_THREADS} uploads collectstupid runs "
            f"at once. Give a number from 1 to {MAX_THREADS} (the default is "
            f"{DEFAULTS['THREADS']})."
        )
    return value


def keep_deploys_value(value: Any, source: str) -> int:
    """How many deploys' hashed copies --prune keeps, from ``source``, checked."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (1 <= value <= MAX_KEEP_DEPLOYS)
    ):
        raise SettingsError(
            f"{source} must be a whole number from 1 (keep only this deploy's hashed "
            f"copies) to {MAX_KEEP_DEPLOYS}, not {value!r}. The default is "
            f"{DEFAULTS['KEEP_DEPLOYS']}: this deploy's and the previous one's."
        )
    return value


def get_settings() -> Settings:
    """The validated settings, or a SettingsError saying which key is wrong."""
    raw = _raw()
    default_profile = raw["DEFAULT_PROFILE"]
    if not isinstance(default_profile, str) or not default_profile:
        raise SettingsError("COLLECTSTUPID['DEFAULT_PROFILE'] must be a profile name (a string).")
    threads = threads_value(raw["THREADS"], "COLLECTSTUPID['THREADS']")
    if not isinstance(raw["SMART"], bool):
        raise SettingsError(f"COLLECTSTUPID['SMART'] must be True or False, not {raw['SMART']!r}.")
    return Settings(
        profiles=_profiles(raw["PROFILES"]),
        default_profile=default_profile,
        threads=threads,
        smart=raw["SMART"],
        manifest_name=_manifest_name(raw["MANIFEST_NAME"]),
        keep_deploys=keep_deploys_value(raw["KEEP_DEPLOYS"], "COLLECTSTUPID['KEEP_DEPLOYS']"),
        fast_path=_fast_path(raw["FAST_PATH"]),
    )


def _fast_path(value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise SettingsError(
            "COLLECTSTUPID['FAST_PATH'] must be True, False or None (the default: on unless "
            f"tracing handlers listen to botocore's calls), not {value!r}."
        )
    return value


def _manifest_name(value: Any) -> str:
    # The name is joined under the storage's location: it must not climb out of it.
    if not isinstance(value, str) or not is_safe_relative(value):
        raise SettingsError(
            "COLLECTSTUPID['MANIFEST_NAME'] must be a relative path such as "
            f"'{DEFAULTS['MANIFEST_NAME']}' (no '..', '.', '//', backslash or NUL byte), "
            f"not {value!r}."
        )
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise SettingsError(
            f"COLLECTSTUPID['MANIFEST_NAME'] is {size} bytes long; S3 keys are at most "
            f"{MAX_KEY_BYTES} bytes, the storage's location included. Choose a shorter name."
        )
    return value
