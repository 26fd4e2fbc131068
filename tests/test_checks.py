from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def check_ids(settings_value, settings) -> list[str]:
    settings.COLLECTSTUPID = settings_value
    from collectstupid.checks import check_settings

    return [e.id for e in check_settings()]


def test_good_settings_pass(settings, tmp_path):
    (tmp_path / "mine.yaml").write_text("exclude: ['*.map']\n")
    assert check_ids({"PROFILES": [str(tmp_path)], "DEFAULT_PROFILE": "mine"}, settings) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"THREADS": 0}, "collectstupid.E001"),
        ({"UNKNOWN": 1}, "collectstupid.E001"),
        ({"PROFILES": "/nope"}, "collectstupid.E002"),
        ({"DEFAULT_PROFILE": "nope"}, "collectstupid.E003"),
    ],
)
def test_bad_settings_are_errors(settings, value, expected):
    assert check_ids(value, settings) == [expected]


def test_broken_profile_shows_in_manage_py_check(settings, tmp_path):
    (tmp_path / "broken.yaml").write_text("exclude: [\n")
    settings.COLLECTSTUPID = {"PROFILES": [str(tmp_path)]}
    with pytest.raises(SystemCheckError, match=r"collectstupid\.E002.*broken\.yaml"):
        call_command("check")
