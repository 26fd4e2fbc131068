"""The session's replay check (tests/wire_check.py): which files it names, and when."""

from __future__ import annotations

import pytest

from tests.s3_fixtures import DEFAULT_PATH, PINNED, PUBLIC_PATH
from tests.wire_check import (
    MIN_SMALL_PUTS,
    OUTPUT_KEY,
    Sent,
    WireCheck,
    counts_on_default_path,
)


def test_a_file_past_the_threshold_without_a_replay_is_named():
    check = WireCheck()
    check.files = {
        "tests/test_never.py": Sent(small_puts=MIN_SMALL_PUTS),
        "tests/test_some.py": Sent(small_puts=300, replayed=1),
        "tests/test_few.py": Sent(small_puts=MIN_SMALL_PUTS - 1),
    }
    assert check.missing() == [
        f"tests/test_never.py: {MIN_SMALL_PUTS} small-file PutObjects on the default path, "
        "none replayed"
    ]


class Item:
    """What the check reads of a test: its parameters and what its fixture stashed."""

    def __init__(self, path: str | None, pinned: bool | None) -> None:
        self.stash = pytest.Stash()
        if pinned is not None:
            self.stash[PINNED] = pinned
        if path is not None:
            self.callspec = type("CallSpec", (), {"params": {"s3_path": path}})()


@pytest.mark.parametrize(
    ("path", "pinned", "counts"),
    [
        (DEFAULT_PATH, False, True),
        (DEFAULT_PATH, True, False),  # the test chose FAST_PATH itself
        (PUBLIC_PATH, False, False),
        (None, None, False),  # not a behaviour test
        (DEFAULT_PATH, None, False),  # the fixture never finished
    ],
)
def test_only_default_path_tests_that_left_the_setting_alone_count(path, pinned, counts):
    assert counts_on_default_path(Item(path, pinned)) is counts


def test_the_xdist_controller_adds_up_each_workers_files():
    check = WireCheck()
    # Two workers ran tests of one file: only together do they pass the threshold.
    half = MIN_SMALL_PUTS // 2
    for output in ({"tests/test_split.py": (half, 0)}, {"tests/test_split.py": (half, 0)}):
        node = type("Node", (), {"workeroutput": {OUTPUT_KEY: output}})()
        check.pytest_testnodedown(node, None)
    assert check.files == {"tests/test_split.py": Sent(small_puts=2 * half)}
    assert check.missing() == [
        f"tests/test_split.py: {2 * half} small-file PutObjects on the default path, none replayed"
    ]
