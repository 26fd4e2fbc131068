"""Every exception the library raises on purpose: one family, turned into CommandError
by the command. Each message says what to do."""


class CollectStupidError(Exception):
    """A problem a person can act on; the message says what to do."""


class ProfileError(CollectStupidError):
    """A profile cannot be read, resolved or compiled."""


class SettingsError(CollectStupidError):
    """A setting or a command-line option holds a value that cannot work."""


class CollectError(CollectStupidError):
    """The static files cannot be listed or a destination path is unsafe."""


class PostProcessError(CollectStupidError):
    """Post-processing failed locally, so nothing was uploaded."""


class ManifestError(CollectStupidError):
    """The deploy manifest could not be written; the uploads themselves did land."""


class ManifestFormatError(CollectStupidError):
    """Bytes that are not a manifest this version can use; the message says why."""


class ReportError(CollectStupidError):
    """The JSON report cannot be written where it was asked for."""


class DeployError(CollectStupidError):
    """The deploy did not complete: files failed, or a signal stopped it."""


class ReportedError(DeployError):
    """The deploy did not complete, and the JSON report it wrote already says why."""


class SourceChanged(CollectStupidError):
    """A source file changed while it was hashed or uploaded.

    ``wrote``: the write itself succeeded, so what was online was replaced.
    """

    def __init__(self, message: str, wrote: bool = False) -> None:
        super().__init__(message)
        self.wrote = wrote


class NameNotUTF8(CollectStupidError):
    """A destination path that is not valid UTF-8, so no storage key can name it."""


class LinkError(CollectStupidError):
    """--link was asked of a storage that cannot hold symlinks."""


class ClearError(CollectStupidError):
    """--clear could not start safely, so nothing was deleted."""


class Interrupted(BaseException):
    """A signal ended the run where nothing could be waited for.

    Not an ``Exception``, as KeyboardInterrupt is not: raised from a signal
    handler into whatever the main thread runs, it must not be mistaken for
    that code's own failure (botocore retries requests that raise ``Exception``).
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
