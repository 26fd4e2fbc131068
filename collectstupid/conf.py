"""The ``COLLECTSTUPID`` setting, ``CDN`` included: one dict, read and validated in one
place, and the rule for a path that must stay inside a storage's location.
``DEFAULTS`` is the one home of every default. See docs/settings.md.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings

from collectstupid.errors import SettingsError

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
    # --prune stops before deleting more than this percentage of the paths the profile's
    # previous deploy shipped: a deploy that replaces most of its files is rare, another
    # project recording under the same name is the likelier cause.
    "PRUNE_MAX_SHARE": 50,
    # A CDN to invalidate after each deploy (see docs/cdn.md): none unless set.
    "CDN": None,
    # Whose deploys the manifest records (--prune): None derives it from ROOT_URLCONF.
    "PROJECT": None,
    # S3's fast path (replayed PutObjects, docs/cpu.md): None decides per run, True uses it
    # even where tracing handlers listen to botocore's calls, False never.
    "FAST_PATH": None,
}
# Past a few hundred, more threads only queue on the connection pool and the GIL, while
# each one costs a connection and a read buffer: a typo such as 10000000 must not get them.
MAX_THREADS = 256
# S3 refuses keys longer than 1024 bytes (UTF-8); the location comes on top of the name.
MAX_KEY_BYTES = 1024
# A project name is a label in the manifest, not a path: short and printable.
MAX_PROJECT_LENGTH = 200
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
    prune_max_share: int = DEFAULTS["PRUNE_MAX_SHARE"]
    cdn: CdnSettings | None = None
    project: str = "default"
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


def prune_max_share_value(value: Any, source: str) -> int:
    """The percentage of the previous deploy's paths --prune may delete, from ``source``."""
    if isinstance(value, bool) or not isinstance(value, int) or not (0 <= value <= 100):
        raise SettingsError(
            f"{source} must be a whole number from 0 to 100 (a percentage of the files the "
            f"previous deploy of the profile shipped; 100 allows every delete), not {value!r}. "
            f"The default is {DEFAULTS['PRUNE_MAX_SHARE']}."
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
        prune_max_share=prune_max_share_value(
            raw["PRUNE_MAX_SHARE"], "COLLECTSTUPID['PRUNE_MAX_SHARE']"
        ),
        cdn=cdn_settings(raw["CDN"]),
        project=_project(raw["PROJECT"]),
        fast_path=_fast_path(raw["FAST_PATH"]),
    )


def default_project() -> str:
    """The project's name when COLLECTSTUPID['PROJECT'] is not set.

    ROOT_URLCONF names the project's own package, and stays the same on every
    machine and settings variant (production, staging, CI) that deploys it,
    where a checkout folder or a settings module would not.
    """
    for value in (
        getattr(django_settings, "ROOT_URLCONF", None),
        os.environ.get("DJANGO_SETTINGS_MODULE"),
    ):
        if isinstance(value, str) and value:
            return value
    return "default"


def _project(value: Any) -> str:
    if value is None:
        return default_project()
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_PROJECT_LENGTH
        or not value.isprintable()
    ):
        raise SettingsError(
            "COLLECTSTUPID['PROJECT'] must be a short printable name for the project "
            f"(1 to {MAX_PROJECT_LENGTH} characters), not {value!r}. Unset, it is "
            "ROOT_URLCONF."
        )
    return value


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


KEYS = ("CLOUDFRONT_DISTRIBUTION_ID", "PATH_PREFIX", "WILDCARD_ABOVE")


# CloudFront bills each path after the first 1,000 of a month (a wildcard is one path)
# and holds at most 3,000 listed paths, or 15 wildcards, in progress at once. A list of
# 100 keeps ten deploys a month in the free paths, and keeps 30 deploys in flight
# under the limit; past it, one wildcard costs one path instead of a hundred or more,
# for objects fetched once more from the bucket. See docs/cdn.md.
WILDCARD_ABOVE = 100


# More listed paths than CloudFront holds in progress would be refused outright.
MAX_LISTED = 3000


_DISTRIBUTION_ID = re.compile(r"[A-Z0-9]{1,64}")


@dataclass(frozen=True)
class CdnSettings:
    distribution_id: str
    # The URL path static files are served under, '/' at both ends.
    prefix: str
    wildcard_above: int = WILDCARD_ABOVE


def missing_client() -> str | None:
    """Why CloudFront cannot be reached from here (boto3 missing), None when it can."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        return (
            "COLLECTSTUPID['CDN'] names a CloudFront distribution, but boto3 is not "
            "installed. Install it: pip install 'collectstupid[s3]'."
        )
    return None


def cdn_settings(value: Any) -> CdnSettings | None:
    """The validated ``COLLECTSTUPID['CDN']``, None when it is not set."""
    if value is None:
        return None
    name = "COLLECTSTUPID['CDN']"
    if not isinstance(value, dict):
        raise SettingsError(
            f"{name} must be a dict such as {{'CLOUDFRONT_DISTRIBUTION_ID': 'E2EXAMPLE'}}, "
            f"not {type(value).__name__}."
        )
    unknown = sorted(map(str, set(value) - set(KEYS)))
    if unknown:
        raise SettingsError(
            f"{name} has unknown key(s): {', '.join(unknown)}. Known keys: {', '.join(KEYS)}."
        )
    distribution = value.get("CLOUDFRONT_DISTRIBUTION_ID")
    if not isinstance(distribution, str) or not _DISTRIBUTION_ID.fullmatch(distribution):
        raise SettingsError(
            f"{name}['CLOUDFRONT_DISTRIBUTION_ID'] must be a distribution id such as "
            f"'E2EXAMPLE' (capital letters and digits), not {distribution!r}."
        )
    return CdnSettings(
        distribution,
        path_prefix(value.get("PATH_PREFIX")),
        wildcard_above(value.get("WILDCARD_ABOVE", WILDCARD_ABOVE)),
    )


def path_prefix(value: Any) -> str:
    """PATH_PREFIX, else the path of STATIC_URL, with a '/' at both ends."""
    source = f"COLLECTSTUPID['CDN']['PATH_PREFIX'] ({value!r})"
    if value is None:
        static_url = getattr(django_settings, "STATIC_URL", None) or "/"
        value = urlsplit(str(static_url)).path
        source = f"The path of STATIC_URL ({static_url!r})"
    if not isinstance(value, str) or any(c in value for c in "*?#\\ \t\r\n\0"):
        raise SettingsError(
            f"{source} must be a URL path such as '/static/', without '*', '?', '#', "
            "spaces or backslashes. Set COLLECTSTUPID['CDN']['PATH_PREFIX']."
        )
    return "/" + value.strip("/") + "/" if value.strip("/") else "/"


def wildcard_above(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LISTED:
        raise SettingsError(
            "COLLECTSTUPID['CDN']['WILDCARD_ABOVE'] must be a whole number from 0 (always "
            f"one wildcard) to {MAX_LISTED} (CloudFront's limit of paths in progress), "
            f"not {value!r}. The default is {WILDCARD_ABOVE}."
        )
    return value


def is_safe_relative(path: str) -> bool:
    """True for a ``/``-separated relative path that cannot climb out of where it is joined.

    No empty, ``.`` or ``..`` part (so no leading, trailing or doubled ``/``), no
    backslash (a separator on Windows and on some storages), no NUL byte.
    """
    if not path or "\\" in path or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))
