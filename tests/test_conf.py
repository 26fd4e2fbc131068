"""The COLLECTSTUPID setting, read and validated in one place."""

from __future__ import annotations

import pytest

from collectstupid.conf import get_settings
from collectstupid.errors import SettingsError
from tests.helpers import MANIFEST


def test_settings_defaults_and_validation(settings):
    settings.COLLECTSTUPID = {}
    conf = get_settings()
    assert conf.smart is False and conf.manifest_name == MANIFEST
    settings.COLLECTSTUPID = {"SMART": True, "MANIFEST_NAME": "deploy/state.json"}
    conf = get_settings()
    assert conf.smart is True and conf.manifest_name == "deploy/state.json"
    for bad in (
        {"SMART": "yes"},
        {"MANIFEST_NAME": "../up.json"},
        {"MANIFEST_NAME": ""},
        {"MANIFEST_NAME": "/abs.json"},
        {"MANIFEST_NAME": 3},
    ):
        settings.COLLECTSTUPID = bad
        with pytest.raises(SettingsError):
            get_settings()


def test_the_project_is_the_setting_else_root_urlconf(settings):
    settings.COLLECTSTUPID = {}
    settings.ROOT_URLCONF = "mysite.urls"
    assert get_settings().project == "mysite.urls"
    settings.COLLECTSTUPID = {"PROJECT": "shop"}
    assert get_settings().project == "shop"
    for bad in ("", "a\nb", 3, "x" * 201):
        settings.COLLECTSTUPID = {"PROJECT": bad}
        with pytest.raises(SettingsError, match=r"COLLECTSTUPID\['PROJECT'\] must be"):
            get_settings()
