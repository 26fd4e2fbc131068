"""A Django test runner that also writes every test's outcome, for the pytest harness."""

from __future__ import annotations

import json
import os
import unittest
from collections.abc import Iterator
from typing import Any

from django.test.runner import DiscoverRunner


def test_ids(suite: unittest.TestSuite | unittest.TestCase) -> Iterator[str]:
    if isinstance(suite, unittest.TestCase):
        yield suite.id()
        return
    for test in suite:
        yield from test_ids(test)


class RecordingRunner(DiscoverRunner):
    """DiscoverRunner, plus a JSON file (``DJANGO_SUITE_RESULTS``) naming every outcome."""

    def run_suite(self, suite: unittest.TestSuite, **kwargs: Any) -> unittest.TestResult:
        ids = sorted(test_ids(suite))
        result = super().run_suite(suite, **kwargs)
        broken = result.failures + result.errors
        data = {
            "tests": ids,
            "run": result.testsRun,
            "failed": sorted(test.id() for test, _ in broken),
            "unexpected_successes": sorted(t.id() for t in result.unexpectedSuccesses),
            "skipped": sorted(test.id() for test, _ in result.skipped),
            "details": {test.id(): text for test, text in broken},
        }
        with open(os.environ["DJANGO_SUITE_RESULTS"], "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
        return result
