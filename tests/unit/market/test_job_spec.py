"""The anonymization job's spec refuses what would fail the job only after it was accepted."""

from typing import Any

import pytest
from pydantic import ValidationError

from market.anonymization import JobSpec

EXAMPLE: dict[str, Any] = JobSpec.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index,assignment]


def test_the_documented_example_is_a_valid_spec() -> None:
    assert JobSpec.model_validate(EXAMPLE).title == "Health checkups 2026 (anonymized)"


@pytest.mark.parametrize("title", ["a\x00b", "line\nbreak", "tab\there", "\x7f"])
def test_a_title_with_a_control_character_is_refused(title: str) -> None:
    with pytest.raises(ValidationError, match="title"):
        JobSpec.model_validate({**EXAMPLE, "title": title})
