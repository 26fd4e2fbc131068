from __future__ import annotations

from io import StringIO

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


def test_profiles_are_deploy_configuration_checked_only_with_deploy(settings, tmp_path):
    (tmp_path / "broken.yaml").write_text("exclude: [\n")
    settings.COLLECTSTUPID = {"PROFILES": [str(tmp_path)]}
    out = StringIO()
    call_command("check", stdout=out)  # what migrate and runserver run: not stopped
    assert "no issues" in out.getvalue()
    for args in (["--deploy"], ["--deploy", "--tag", "collectstupid"]):
        with pytest.raises(SystemCheckError, match=r"collectstupid\.E002.*broken\.yaml"):
            call_command("check", *args, stdout=StringIO())


def test_every_broken_profile_is_its_own_error(settings, tmp_path):
    (tmp_path / "one.yaml").write_text("exclude: ['[z-a]']\n")
    (tmp_path / "two.yaml").write_text("exclude:\n  - *.map\n")
    (tmp_path / "fine.yaml").write_text("exclude: ['*.map']\n")
    settings.COLLECTSTUPID = {"PROFILES": [str(tmp_path)]}
    from collectstupid.checks import check_settings

    errors = check_settings()
    assert [e.id for e in errors] == ["collectstupid.E002"] * 2
    text = "\n".join(e.msg for e in errors)
    assert "one.yaml" in text and "character range" in text
    assert "two.yaml" in text and "Quote patterns that start with '*'" in text


def test_a_local_destination_without_static_root_is_a_deploy_error(settings):
    settings.STATIC_ROOT = None
    with pytest.raises(SystemCheckError, match=r"collectstupid\.E004.*STATIC_ROOT"):
        call_command("check", "--deploy", stdout=StringIO())
