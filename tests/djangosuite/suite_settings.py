"""runtests.py's own settings, with a runner that records the outcome of each test."""

from test_sqlite import *  # noqa: F403

TEST_RUNNER = "suite_runner.RecordingRunner"
