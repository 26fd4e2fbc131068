"""Object parameters by pattern: a profile's ``object_parameters`` rules.

A rule names the files it applies to (gitignore-style ``match`` patterns on
destination paths, and optionally ``hashed``: only hashed copies, or none of
them) and the S3 object parameters to send with them (``CacheControl``,
``ContentType``, ``Metadata``...). Rules apply in order over what the storage
itself would send, a later rule winning per parameter name; a profile's rules
come after those of the profile it extends.

Manifests that name other files (``staticfiles.json``) are only given
parameters by a rule whose ``match`` names them exactly: a long cache life
meant for hashed copies must never reach the one file that says which copies
are current.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import pathspec

from collectstupid.patterns import Pattern, PatternError, check, patterns, spec

KEY = "object_parameters"
RULE_KEYS = ("match", "hashed", "parameters")

TEXT = "a string"
STRINGS = "a mapping of strings to strings"
# What a rule may set: PutObject's parameters that ``save()`` also accepts
# (s3transfer's ALLOWED_UPLOAD_ARGS; a test keeps the two in step), less the
# checksums, which the writer computes, and the ones that are secrets or
# belong to the request rather than to the object.
PARAMETERS: Mapping[str, str] = {
    "ACL": TEXT,
    "CacheControl": TEXT,
    "ContentDisposition": TEXT,
    "ContentEncoding": TEXT,
    "ContentLanguage": TEXT,
    "ContentType": TEXT,
    "Expires": TEXT,
    "GrantFullControl": TEXT,
    "GrantRead": TEXT,
    "GrantReadACP": TEXT,
    "GrantWriteACP": TEXT,
    "Metadata": STRINGS,
    "ObjectLockLegalHoldStatus": TEXT,
    "ObjectLockMode": TEXT,
    "ObjectLockRetainUntilDate": TEXT,
    "ServerSideEncryption": TEXT,
    "SSEKMSEncryptionContext": TEXT,
    "SSEKMSKeyId": TEXT,
    "StorageClass": TEXT,
    "Tagging": TEXT,
    "WebsiteRedirectLocation": TEXT,
}


class RuleError(ValueError):
    """A rule that cannot be used; the message says where in the list and why."""


@dataclass(frozen=True)
class Rule:
    """Which files get which parameters."""

    match: tuple[Pattern, ...]
    parameters: Mapping[str, Any]
    # True: hashed copies only; False: every file but them; None: both.
    hashed: bool | None = None

    @cached_property
    def _spec(self) -> pathspec.PathSpec:
        return spec(self.match)

    def applies(self, dest: str, hashed: bool, manifest: bool) -> bool:
        if self.hashed is not None and self.hashed != hashed:
            return False
        if manifest:
            return any(p.text.lstrip("/") == dest for p in self.match)
        return self._spec.match_file(dest)


@dataclass(frozen=True)
class Rules:
    """A profile's rules, in the order they apply."""

    rules: tuple[Rule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __add__(self, other: Rules) -> Rules:
        return Rules(self.rules + other.rules)

    @property
    def for_hashed_copies(self) -> bool:
        return any(rule.hashed for rule in self.rules)

    def parameters(self, dest: str, hashed: bool = False, manifest: bool = False) -> dict[str, Any]:
        """What the rules set for one destination path; later rules win per name."""
        params: dict[str, Any] = {}
        for rule in self.rules:
            if rule.applies(dest, hashed, manifest):
                params.update(rule.parameters)
        return params


def digest(params: Mapping[str, Any]) -> str:
    """A short, stable hash of the parameters an object was written with.

    For change detection only (smart mode), so 64 bits are plenty. Sorted,
    so the order rules and settings were written in does not matter; cached,
    because most files of a deploy share their parameters and smart mode
    asks for every file on every run.
    """
    canonical = repr(
        sorted((k, sorted(v.items()) if isinstance(v, dict) else v) for k, v in params.items())
    )
    return _digest(canonical)


@lru_cache(maxsize=1024)
def _digest(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def read_rules(value: Any, ignore_case: bool) -> Rules:
    """The rules of one profile file's ``object_parameters``; RuleError says what is wrong."""
    if value is None:
        return Rules()
    if not isinstance(value, list):
        raise RuleError(
            f"'{KEY}' must be a list of rules, each a mapping with 'parameters' and "
            "optionally 'match' and 'hashed'"
        )
    return Rules(tuple(_rule(i, item, ignore_case) for i, item in enumerate(value, start=1)))


def _rule(number: int, item: Any, ignore_case: bool) -> Rule:
    where = f"'{KEY}' rule {number}"
    if not isinstance(item, dict):
        raise RuleError(f"{where} must be a mapping with the keys {', '.join(RULE_KEYS)}")
    unknown = sorted(str(k) for k in item if k not in RULE_KEYS)
    if unknown:
        raise RuleError(
            f"{where} has unknown key(s): {', '.join(unknown)}. Known keys: {', '.join(RULE_KEYS)}"
        )
    match = item.get("match", "*")
    if isinstance(match, str):
        match = [match]
    if not isinstance(match, list) or not match or not all(isinstance(p, str) for p in match):
        raise RuleError(f"{where}: 'match' must be a pattern or a list of pattern strings")
    compiled = patterns(match, ignore_case)
    for pattern in compiled:
        try:
            check(pattern)
        except PatternError as exc:
            raise RuleError(f"{where}: 'match' has an invalid pattern: {exc}") from exc
    hashed = item.get("hashed")
    if hashed is not None and not isinstance(hashed, bool):
        raise RuleError(f"{where}: 'hashed' must be true or false")
    return Rule(compiled, _parameters(where, item.get("parameters")), hashed)


def _parameters(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise RuleError(
            f"{where}: 'parameters' must be a mapping of S3 object parameters, such as "
            'CacheControl: "public, max-age=31536000, immutable"'
        )
    for name, item in value.items():
        kind = PARAMETERS.get(name) if isinstance(name, str) else None
        if kind is None:
            close = difflib.get_close_matches(str(name), PARAMETERS, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise RuleError(
                f"{where}: unknown object parameter '{name}'.{hint} Known parameters: "
                f"{', '.join(PARAMETERS)}"
            )
        if not _is(kind, item):
            quote = " (quote it in YAML)" if kind == TEXT and not isinstance(item, dict) else ""
            raise RuleError(
                f"{where}: '{name}' must be {kind}{quote}, not {type(item).__name__} {item!r}"
            )
    return dict(value)


def _is(kind: str, value: Any) -> bool:
    if kind == TEXT:
        return isinstance(value, str)
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def unsupported(profile: str, origin: str, rules: Rules, storage: str) -> str:
    """The error for rules a storage cannot apply: silently dropping them would lie."""
    names = sorted({name for rule in rules.rules for name in rule.parameters})
    return (
        f"Profile '{profile}' ({origin}) sets object parameters ({', '.join(names)}), but "
        f"the storage {storage} has no way to take them: it is not django-storages' "
        "S3Storage, or it changes how S3Storage saves a file. Deploy with a profile "
        f"without '{KEY}', or set them in the storage itself."
    )
