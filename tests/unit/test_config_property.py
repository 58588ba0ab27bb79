"""Property: any configuration, however mangled, is either valid or rejected with one clean line. (That valid ones
synthesize, and grant what they say, is tests/access_report/test_access_property.py.)"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.loader import MAX_LINE, ConfigError, parse_config
from tests.conftest import EXAMPLE

BASE = yaml.safe_load(EXAMPLE.read_text())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**13), max_value=10**13),
    st.text(max_size=30),
    st.sampled_from(["read", "read-write", "role", "resource-policy", "eu-west-1", "222222222222", "o-abcdefghij"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            paths += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += _paths(value, (*prefix, index))
    return paths


PATHS = _paths(BASE)


@st.composite
def mangled(draw) -> str:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(PATHS))
        node = data
        try:
            for part in path[:-1]:
                node = node[part]
            if draw(st.booleans()) and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue
    return yaml.safe_dump(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_any_config_is_valid_or_one_clean_line(text):
    try:
        parse_config(text)
    except ConfigError as error:
        message = str(error)
        assert message and "\n" not in message and len(message) <= MAX_LINE
        assert "Traceback" not in message


def _refused_cleanly(text: str) -> None:
    try:
        parse_config(text)
    except ConfigError as error:
        message = str(error)
        assert message and "\n" not in message and len(message) <= MAX_LINE


@settings(max_examples=200, deadline=None)
@given(st.recursive(scalars, lambda inner: st.lists(inner) | st.dictionaries(scalars, inner), max_leaves=25))
def test_any_yaml_document_is_valid_or_one_bounded_line(document):
    # Keys of every scalar type, lists as keys' values, deep mixes: whatever YAML can say.
    _refused_cleanly(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_valid_or_one_bounded_line(text):
    _refused_cleanly(text)
