"""What a failure means, decided once: its cause (two files failing alike are one cause),
what to do about it, and whether running again can help. Every path that reports a
failure (uploads, --clear, --prune, the deploy manifest) asks here. See docs/failures.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from collectstupid.outcomes import Outcome

# At verbosity 1, the most causes spelled out; -v 2 shows every one.
SHOWN_CAUSES = 5


# A cause with this many files or fewer lists each of them.
LISTED_FILES = 3


URL = re.compile(r"""["']?\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"']*["']?""")


RETRY = "run the command again to retry"


# A refusal may be of one object only (a policy on a prefix): the storage may still serve.
DENIED = (
    "Check that these credentials may write to the bucket (its policy and the key's "
    "permissions): a retry cannot fix this."
)


# Error codes and exception names a retry cannot fix, with what to do instead.
ADVICE: tuple[tuple[frozenset[str], str], ...] = (
    (
        frozenset(
            {
                "SignatureDoesNotMatch",
                "InvalidAccessKeyId",
                "InvalidClientTokenId",
                "ExpiredToken",
                "InvalidToken",
                "AuthorizationHeaderMalformed",
                "NoCredentialsError",
                "PartialCredentialsError",
                # Azure: a wrong account key or SAS token.
                "AuthenticationFailed",
                "AuthorizationFailure",
                "ClientAuthenticationError",
                # GCS: refused or expired credentials.
                "Unauthorized",
                "RefreshError",
                "DefaultCredentialsError",
            }
        ),
        "Check the credentials the storage uses (S3: access and secret key; Azure: the "
        "account key or SAS token): "
        "a retry cannot fix this.",
    ),
    (frozenset({"AccessDenied", "AllAccessDisabled", "AccountProblem"}), DENIED),
    (
        frozenset({"NoSuchBucket", "ContainerNotFound", "NotFound"}),
        "Check the bucket (Azure: container) name in the storage's settings, or create "
        "it: a retry cannot fix this.",
    ),
    (
        frozenset(
            {
                "InvalidBucketName",
                "ParamValidationError",
                "PermanentRedirect",
                "IllegalLocationConstraintException",
                "InvalidRegion",
            }
        ),
        "Fix the storage setting the error names (bucket name, region, endpoint): "
        "a retry cannot fix this.",
    ),
    (
        frozenset({"InvalidHeaderValue"}),
        "Check the object parameters the storage gives these files (its object_parameters "
        "or get_object_parameters): a retry cannot fix this.",
    ),
    (
        frozenset({"FileExistsError", "NotADirectoryError", "IsADirectoryError"}),
        "Check the storage's location: it must be a folder (or a path where one can be "
        "made): a retry cannot fix this.",
    ),
    (
        frozenset(
            {
                "EndpointConnectionError",
                "ConnectTimeoutError",
                "ConnectionRefusedError",
                "ServiceRequestError",
                "ConnectionError",
                "NewConnectionError",
            }
        ),
        "The endpoint is unreachable: check the storage's endpoint_url, that the server is "
        "up and that the network reaches it, then run the command again.",
    ),
)


# Answers to a value sent with the object (S3, Azure, GCS, botocore's own check):
# for files a profile gives object parameters, the profile is the likely cause.
PARAMETER_CODES = frozenset(
    {
        "InvalidArgument",
        "InvalidRequest",
        "InvalidStorageClass",
        "InvalidTag",
        "InvalidEncryptionAlgorithmError",
        "MetadataTooLarge",
        "InvalidMetadata",
        "InvalidHeaderValue",
        "InvalidInput",
        "BadRequest",
        "ParamValidationError",
    }
)


def profile_advice(outcome: Outcome) -> str | None:
    """Blame the profile's rules for a refused value the rules gave this file."""
    if not outcome.source.parameters or code_of(outcome.error) not in PARAMETER_CODES:
        return None
    names = ", ".join(sorted(outcome.source.parameters))
    return (
        f"These files are sent with object parameters from the profile ({names}): check "
        "the values its 'object_parameters' rules give them; a retry cannot fix this."
    )


def one_line(error: str) -> str:
    """An error on one line: botocore's validation errors span several. Only line feeds
    join: any other control character is a name's, shown escaped (output.printable)."""
    return " ".join(part.strip() for part in error.split("\n") if part.strip())


def cause_of(outcome: Outcome) -> str:
    """What two failures must share to be one cause: the error without URL or file name."""
    text = URL.sub("<url>", one_line(outcome.error))
    return text.replace(outcome.source.dest, "<file>")


def code_of(error: str) -> str:
    """The S3 error code or exception name an error starts with ("" if none)."""
    head = error.split(":", 1)[0].strip()
    return head if head.isidentifier() else ""


# Words that mark an error whatever type a library wraps it in.
TEXT_CODES = (
    (
        re.compile(r"Connection refused|Failed to establish a new connection|Errno 111\]"),
        "ConnectionRefusedError",
    ),
    (re.compile(r"Errno 20\]|Not a directory"), "NotADirectoryError"),
)


# Any known code as a word, for errors wrapped in another's message.
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def advice_for(error: str) -> str | None:
    """What to do about an error a retry cannot fix, or where to look first when the
    endpoint is unreachable; None when a retry may simply help."""
    known = {code_of(error)}
    known.update(code for pattern, code in TEXT_CODES if pattern.search(error))
    # A code wrapped in another message ("... (NoSuchBucket) when calling PutObject").
    known.update(word for word in _WORD.findall(error) if word[0].isupper())
    for codes, advice in ADVICE:
        if known & codes:
            return advice
    return None


def verdict(error: str) -> str:
    """The one sentence on what to do after ``error``: advice, or that a retry may help."""
    return advice_for(error) or f"{RETRY[0].upper()}{RETRY[1:]}."


def unusable(error: str) -> bool:
    """Whether ``error`` says the storage itself cannot be used as configured (a missing
    bucket, refused credentials, an endpoint that does not answer), not one object."""
    advice = advice_for(error)
    return advice is not None and advice != DENIED


@dataclass
class Cause:
    """The failures that share one cause, in the order they happened."""

    key: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def example(self) -> str:
        return one_line(self.outcomes[0].error)

    @property
    def advice(self) -> str | None:
        return profile_advice(self.outcomes[0]) or advice_for(self.example)

    def lines(self) -> list[str]:
        if len(self.outcomes) <= LISTED_FILES:
            return [f"  {o.source.dest}: {one_line(o.error)}" for o in self.outcomes]
        names = ", ".join(o.source.dest for o in self.outcomes[:LISTED_FILES])
        return [f"  {len(self.outcomes)} files: {self.example}", f"    among them: {names}, ..."]


def group(failed: Iterable[Outcome]) -> list[Cause]:
    """Failures by cause, the most common first (ties in the order they happened)."""
    causes: dict[str, Cause] = {}
    for outcome in failed:
        key = cause_of(outcome)
        causes.setdefault(key, Cause(key)).outcomes.append(outcome)
    return sorted(causes.values(), key=lambda cause: -len(cause.outcomes))
