"""The exceptions each step raises; the command turns them into CommandError."""


class CollectStupidError(Exception):
    """A problem a person can act on; the message says what to do."""


class ProfileError(CollectStupidError):
    """A profile cannot be read, resolved or compiled."""


class SettingsError(CollectStupidError):
    """The COLLECTSTUPID setting holds a value of the wrong kind."""


class CollectError(CollectStupidError):
    """The static files cannot be listed or a destination path is unsafe."""
