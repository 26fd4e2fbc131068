"""Whatever YAML a profile file holds, loading it ends in a profile or a ProfileError."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectstupid.errors import ProfileError
from collectstupid.profile_files import KEYS
from collectstupid.profiles import load_profiles

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
documents = st.dictionaries(st.sampled_from(sorted(KEYS)) | st.text(max_size=8), values, max_size=5)


def load(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "p.yaml").write_text(text, encoding="utf-8")
        try:
            profiles = load_profiles([folder])
        except ProfileError as exc:
            assert str(exc)
        else:
            profiles["p"].select("css/site.css")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_structured_yaml_never_raises_anything_else(document):
    load(yaml.safe_dump(document))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises_anything_else(text):
    load(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=6), st.lists(st.text(max_size=20), max_size=6))
def test_arbitrary_patterns_never_raise_anything_else(include, exclude):
    load(yaml.safe_dump({"include": include, "exclude": exclude}))
