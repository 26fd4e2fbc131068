"""tox.ini gives each environment the scope tests/scopes.py assumes: every file runs
somewhere, the whole suite on every Python and every Django series, ``ONCE`` once."""

from __future__ import annotations

import configparser
import os
import re
import tomllib

import pytest

from tests import scopes
from tests.test_package import ROOT, expand

PUBLIC_PATH = "COLLECTSTUPID_TEST_PUBLIC_PATH"
PAIR_ENV = re.compile(r"py3(\d+)-django(\d)(\d)")


def tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return parser


def environments() -> list[str]:
    return [name for line in tox()["tox"]["env_list"].split() for name in expand(line)]


def set_env(env: str) -> dict[str, str]:
    """The variables tox.ini sets for ``env``: [testenv]'s, then its own section's."""
    config = tox()
    section = f"testenv:{env}"
    text = config.get(section, "set_env", fallback=None) if config.has_section(section) else None
    variables: dict[str, str] = {}
    for line in (text or "{[testenv]set_env}").splitlines():
        line = line.strip()
        if line == "{[testenv]set_env}":
            variables.update(set_env_of(config["testenv"]["set_env"]))
        elif line:
            variables.update(set_env_of(line))
    return variables


def set_env_of(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


def scope_of(env: str) -> str:
    return set_env(env).get(scopes.VARIABLE, "all")


def test_every_test_file_is_in_exactly_one_list():
    assert scopes.problems() == []
    assert scopes.collected("all") == scopes.found_files()


def test_every_environment_has_a_known_scope_and_once_runs_once():
    envs = environments()
    assert {scope_of(env) for env in envs} <= set(scopes.SCOPES)
    assert [env for env in envs if scope_of(env) == "all"] == ["py312-django52"]


def test_the_whole_suite_runs_on_every_python_and_every_django_series():
    envs = environments()
    whole = [env for env in envs if scope_of(env) in ("all", "full")]
    assert sorted(whole) == ["py311-lowest", "py312-django52", "py313-newest"]
    pairs = [m for env in envs if (m := PAIR_ENV.fullmatch(env))]
    pythons = {f"3.{m.group(1)}" for m in pairs}
    djangos = {f"{m.group(2)}.{m.group(3)}" for m in pairs}
    # py311-lowest installs Django's declared floor; py313-newest its newest release,
    # the newest series the matrix pairs; the third one its own.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floor = next(r for r in project["dependencies"] if r.startswith("Django>="))
    middle = next(m for env in whole if (m := PAIR_ENV.fullmatch(env)))
    covered = {floor.removeprefix("Django>="), f"{middle[2]}.{middle[3]}", max(djangos)}
    assert covered == djangos
    assert {f"3.{env[3:5]}" for env in whole} == pythons == {"3.11", "3.12", "3.13"}


def test_the_public_path_runs_in_exactly_one_whole_suite_environment():
    envs = environments()
    public = [env for env in envs if set_env(env).get(PUBLIC_PATH) == "1"]
    assert len(public) == 1 and scope_of(public[0]) in ("all", "full"), public


@pytest.mark.skipif("TOX_ENV_NAME" not in os.environ, reason="runs under tox only")
def test_this_environment_runs_the_scope_tox_ini_gives_it():
    env = os.environ["TOX_ENV_NAME"]
    assert scopes.current() == scope_of(env)
    assert os.environ.get(PUBLIC_PATH, "") == set_env(env).get(PUBLIC_PATH, "")
