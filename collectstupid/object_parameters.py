"""A profile's ``object_parameters`` rules: S3 object parameters by pattern (hashed copies or
not), applied in order over the storage's own, checked as HTTP header values when the profile
loads and against what the target storage can carry; and the storage's own parameters
checked as header values when the run starts. See docs/caching.md.
"""

from __future__ import annotations

import difflib
import email.utils
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

import pathspec

from collectstupid.patterns import Pattern, PatternError, check, patterns, spec

KEY = "object_parameters"
RULE_KEYS = ("match", "hashed", "parameters")

TEXT = "a string"
DATE = "a date"
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
    "Expires": DATE,
    "GrantFullControl": TEXT,
    "GrantRead": TEXT,
    "GrantReadACP": TEXT,
    "GrantWriteACP": TEXT,
    "Metadata": STRINGS,
    "ObjectLockLegalHoldStatus": TEXT,
    "ObjectLockMode": TEXT,
    "ObjectLockRetainUntilDate": DATE,
    "ServerSideEncryption": TEXT,
    "SSEKMSEncryptionContext": TEXT,
    "SSEKMSKeyId": TEXT,
    "StorageClass": TEXT,
    "Tagging": TEXT,
    "WebsiteRedirectLocation": TEXT,
}


# The parameters every storage with object parameters has, by S3's name, with the
# name Azure's ContentSettings and a Google Cloud blob give the same property.
PORTABLE: Mapping[str, str] = {
    "CacheControl": "cache_control",
    "ContentDisposition": "content_disposition",
    "ContentEncoding": "content_encoding",
    "ContentLanguage": "content_language",
    "ContentType": "content_type",
    "Metadata": "metadata",
}

# An HTTP field value (RFC 9110): visible ASCII, spaces and tabs. Every value ends
# up as a response header, whichever way the storage is sent it.
HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
# An HTTP token (RFC 9110): what a header name, and so a metadata key, may be.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class RuleError(ValueError):
    """A rule that cannot be used; the message says where in the list and why."""


@dataclass(frozen=True)
class Rule:
    """Which files get which parameters."""

    match: tuple[Pattern, ...]
    parameters: Mapping[str, Any]
    # True: hashed copies only; False: every file but them; None: both.
    hashed: bool | None = None
    # Where the rule is written, for messages: "'object_parameters' rule 2 in cdn.yaml".
    where: str = field(default="", compare=False)

    @cached_property
    def _spec(self) -> pathspec.PathSpec:
        return spec(self.match)

    def applies(self, dest: str, hashed: bool, manifest: bool) -> bool:
        if self.hashed is not None and self.hashed != hashed:
            return False
        if manifest:
            # Only by exact name: a year's cache life meant for hashed copies must never
            # reach the file that says which copies are current.
            return any(p.text.lstrip("/") == dest for p in self.match)
        return self._spec.match_file(dest)


@dataclass(frozen=True)
class Rules:
    """A profile's rules, in the order they apply."""

    rules: tuple[Rule, ...] = ()
    # Which rules apply to a file -> what they set, shared by every file they apply to.
    _combined: dict[tuple[int, ...], dict[str, Any]] = field(
        default_factory=dict, compare=False, repr=False, hash=False
    )

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __add__(self, other: Rules) -> Rules:
        return Rules(self.rules + other.rules)

    @property
    def for_hashed_copies(self) -> bool:
        return any(rule.hashed for rule in self.rules)

    def parameters(self, dest: str, hashed: bool = False, manifest: bool = False) -> dict[str, Any]:
        """What the rules set for one destination path; later rules win per name.

        One mapping per combination of rules, shared by the files it applies to (a
        large site has few): read only.
        """
        which = tuple(
            i for i, rule in enumerate(self.rules) if rule.applies(dest, hashed, manifest)
        )
        params = self._combined.get(which)
        if params is None:
            params = {}
            for i in which:
                params.update(self.rules[i].parameters)
            self._combined[which] = params
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


def read_rules(value: Any, ignore_case: bool, origin: str = "") -> Rules:
    """The rules of one profile file's ``object_parameters``; RuleError says what is wrong.

    ``origin`` (the file) is kept in each rule for messages about it later.
    """
    if value is None:
        return Rules()
    if not isinstance(value, list):
        raise RuleError(
            f"'{KEY}' must be a list of rules, each a mapping with 'parameters' and "
            "optionally 'match' and 'hashed'"
        )
    return Rules(
        tuple(_rule(i, item, ignore_case, origin) for i, item in enumerate(value, start=1))
    )


def _rule(number: int, item: Any, ignore_case: bool, origin: str = "") -> Rule:
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
    located = f"{where} in {origin}" if origin else where
    return Rule(compiled, _parameters(where, item.get("parameters")), hashed, located)


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
            wanted = STRINGS if kind == STRINGS else TEXT
            quote = " (quote it in YAML)" if kind != STRINGS and not isinstance(item, dict) else ""
            raise RuleError(
                f"{where}: '{name}' must be {wanted}{quote}, not {type(item).__name__} {item!r}"
            )
        problem = _header_problem(name, kind, item)
        if problem:
            raise RuleError(f"{where}: {problem}")
    return dict(value)


def _is(kind: str, value: Any) -> bool:
    if kind in (TEXT, DATE):
        return isinstance(value, str)
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _header_problem(name: str, kind: str, value: Any) -> str | None:
    """Why ``value`` cannot be sent as the header ``name`` stands for; None if it can."""
    if kind == STRINGS:
        for key, item in value.items():
            if not TOKEN.fullmatch(key):
                return (
                    f"'{name}' key {key!r} is not a valid header name: use letters, digits "
                    "and -_.!#$%&'*+^`|~ only (no spaces)"
                )
            if _control(item):
                return f"'{name}' value {item!r} (key '{key}') holds a control character"
        return None
    if _control(value):
        return f"'{name}' value {value!r} holds a control character (a header is one line)"
    if not HEADER_VALUE.fullmatch(value):
        return (
            f"'{name}' value {value!r} holds a character outside ASCII, which a header "
            "cannot carry (percent-encode it, as RFC 8187 does for file names)"
        )
    if kind == DATE and not _is_date(value):
        return (
            f"'{name}' value {value!r} is not a date: write one such as "
            '"2030-01-01T00:00:00Z" or "Tue, 01 Jan 2030 00:00:00 GMT"'
        )
    return None


def _control(value: str) -> bool:
    return any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value)


def storage_refusal(params: Any) -> str | None:
    """Why the storage's own ``object_parameters`` (its OPTIONS, not a profile's rules)
    cannot be sent as headers, as the run's error; None if they can.

    Only control characters are refused, in a value or a metadata key: they end a
    header (CR, LF), so the request fails locally on every attempt, or reach the wire
    (NUL); what a storage takes beyond that is its own to say. The value is never
    quoted: storage options may hold a secret (an SSE-C key).
    """
    if not isinstance(params, Mapping):
        return None
    for name, value in params.items():
        where = _storage_problem(name, value)
        if where:
            return (
                f"The storage's object_parameters: {where}, and a header is one line of "
                "text. Fix it in the storage's OPTIONS (or the setting they default to, "
                "such as AWS_S3_OBJECT_PARAMETERS). Nothing was written."
            )
    return None


def _storage_problem(name: Any, value: Any) -> str | None:
    """Where in one storage parameter a header would break, in words; None if nowhere."""
    if isinstance(value, str) and _control(value):
        return f"{name!r} holds a control character"
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and _control(key):
                return f"{name!r} key {key!r} holds a control character"
            if isinstance(item, str) and _control(item):
                return f"{name!r} value of key {key!r} holds a control character"
    return None


def _is_date(value: str) -> bool:
    """ISO 8601 (``2030-01-01T00:00:00Z``) or an HTTP date, as botocore reads them."""
    try:
        datetime.fromisoformat(value)
        return True
    except ValueError:
        pass
    try:
        email.utils.parsedate_to_datetime(value)
        return True
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Carries:
    """What a storage can carry of the rules' parameters (a backend's ``carries``)."""

    # The storage's name for people: "Azure Blob Storage".
    storage: str
    names: frozenset[str] = frozenset(PARAMETERS)
    # Metadata sent as request headers (S3, Azure) is ASCII only; GCS sends it as JSON.
    ascii_metadata: bool = True
    # Metadata keys the storage takes, where stricter than an HTTP token, and in words.
    metadata_key: re.Pattern[str] | None = None
    metadata_key_rule: str = ""


def refusals(rules: Rules, carries: Carries) -> list[str]:
    """Each rule's parameter ``carries`` cannot take, as a sentence naming the rule."""
    problems = []
    for rule in rules.rules:
        where = rule.where or f"'{KEY}' rule"
        other = sorted(set(rule.parameters) - carries.names)
        if other:
            problems.append(
                f"{where} sets {', '.join(other)}, which {carries.storage} has no place "
                f"for (it takes {', '.join(sorted(carries.names))})"
            )
        for key, value in (rule.parameters.get("Metadata") or {}).items():
            if carries.metadata_key and not carries.metadata_key.fullmatch(key):
                problems.append(
                    f"{where}: 'Metadata' key '{key}' is not one {carries.storage} takes "
                    f"({carries.metadata_key_rule})"
                )
            elif carries.ascii_metadata and not value.isascii():
                problems.append(
                    f"{where}: 'Metadata' value {value!r} (key '{key}') holds a character "
                    f"outside ASCII, which {carries.storage} cannot carry in metadata "
                    "(percent-encode it)"
                )
    return problems


def refused(profile: str, origin: str, problems: list[str]) -> str:
    """The error for rules the target storage cannot apply: dropping them would lie."""
    listed = "\n".join(f"  {problem}." for problem in problems)
    return (
        f"Profile '{profile}' ({origin}) sets object parameters the storage cannot take:\n"
        f"{listed}\nMove them to a profile used only with storages that take them, or "
        "set them in the storage itself. Nothing was written."
    )


def storage_names(params: Mapping[str, Any]) -> dict[str, Any]:
    """Portable parameters under Azure's and Google Cloud's names (``CacheControl``
    becomes ``cache_control``); checked against ``Carries`` before they get here."""
    return {PORTABLE[name]: value for name, value in params.items()}


def unsupported(profile: str, origin: str, rules: Rules, storage: str) -> str:
    """The error for rules a storage cannot apply: silently dropping them would lie."""
    names = sorted({name for rule in rules.rules for name in rule.parameters})
    return (
        f"Profile '{profile}' ({origin}) sets object parameters ({', '.join(names)}), but "
        f"the storage {storage} has no way to take them: it is not django-storages' "
        "S3Storage, AzureStorage or GoogleCloudStorage, or it changes how one of them "
        f"saves a file. Deploy with a profile without '{KEY}', or set them in the "
        "storage itself."
    )
