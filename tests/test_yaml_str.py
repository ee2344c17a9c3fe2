"""The one quoting filter templates use: any string must read back from YAML unchanged."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from envgen.filters import yaml_str


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_any_string_round_trips_as_a_mapping_value(text: str) -> None:
    assert yaml.safe_load(f"key: {yaml_str(text)}\n") == {"key": text}


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_string_round_trips_as_a_list_item(text: str) -> None:
    assert yaml.safe_load(f"items:\n  - {yaml_str(text)}\n") == {"items": [text]}


def test_plain_values_stay_readable() -> None:
    assert yaml_str("conda-forge") == "conda-forge"
    assert yaml_str("https://mirror.corp/conda-forge") == "https://mirror.corp/conda-forge"
    assert yaml_str("python=3.11") == "python=3.11"
    assert yaml.safe_load(yaml_str("3.10")) == "3.10"
    assert yaml.safe_load(yaml_str("yes")) == "yes"
    assert yaml_str('torch==2.4.1; sys_platform == "darwin"') == (
        "'torch==2.4.1; sys_platform == \"darwin\"'"
    )


def test_yaml11_numbers_python_does_not_parse_are_quoted() -> None:
    # Hypothesis found '0_': Python's float() refuses it, YAML 1.1 reads it as the integer 0.
    for text in ("0_", "1_000", "0b1", "+1_0", "190:20:30"):
        assert yaml.safe_load(f"key: {yaml_str(text)}\n") == {"key": text}
