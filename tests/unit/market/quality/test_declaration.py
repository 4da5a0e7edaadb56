"""The column dictionary and its rules are checked before any data is read."""

import pytest
from pydantic import ValidationError

from market.quality import DatasetSchema
from market.quality.rules import RuleSyntaxError, parse_rule


def refusal(declared: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as refused:
        DatasetSchema.model_validate(declared)
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in refused.value.errors()
    )


def test_a_full_declaration_is_accepted() -> None:
    declared = DatasetSchema.model_validate(
        {
            "columns": [
                {"name": "地点", "codes": ["新宿", "渋谷"], "description": "観測地点"},
                {"name": "speed", "type": "number", "unit": "km/h", "minimum": 0, "maximum": 300},
                {"name": "day", "type": "date", "minimum": "2020-01-01"},
            ],
            "timestamp_column": "day",
            "update_frequency_days": 0.5,
            "key_columns": ["地点", "day"],
            "rules": ["speed >= 0 or `地点` == '新宿'"],
        }
    )
    assert declared.column("speed") is not None
    assert ("rules.0", "地点") in declared.referenced()


@pytest.mark.parametrize(
    ("declared", "field", "reason"),
    [
        ({"columns": [{"name": "a", "type": "float"}]}, "columns.0.type", "Input should be"),
        ({"columns": [{"name": "a", "minimum": 1}]}, "columns.0", "takes no minimum"),
        ({"columns": [{"name": "a", "type": "integer", "minimum": "1"}]}, "columns.0", "numbers"),
        ({"columns": [{"name": "a", "type": "integer", "minimum": True}]}, "columns.0.minimum", ""),
        ({"columns": [{"name": "a", "type": "date", "maximum": "tomorrow"}]}, "columns.0", "ISO"),
        (
            {"columns": [{"name": "a", "type": "number", "minimum": 5, "maximum": 1}]},
            "columns.0",
            "above",
        ),
        ({"columns": [{"name": "a"}, {"name": "a"}]}, "", "declared twice"),
        (
            {"columns": [{"name": "t", "type": "integer"}], "timestamp_column": "t"},
            "",
            "date or datetime",
        ),
        ({"update_frequency_days": 0}, "update_frequency_days", "greater than 0"),
        ({"rules": ["a >= b", "a >="]}, "rules.1", "ends too early"),
        ({"rules": ["__import__('os').system('x') == 1"]}, "rules.0", "cannot read"),
        ({"columns": [{"name": "a", "pattern": "(a+)+$"}]}, "columns.0.pattern", "nested repeats"),
        ({"columns": [{"name": "a", "pattern": "(ab|a)*c"}]}, "columns.0.pattern", "alternation"),
        (
            {"columns": [{"name": "a", "pattern": r"(\w)\1"}]},
            "columns.0.pattern",
            "back-references",
        ),
        ({"columns": [{"name": "a", "pattern": "(?=a)a"}]}, "columns.0.pattern", "look-arounds"),
        ({"columns": [{"name": "a", "pattern": "a+b+c+"}]}, "columns.0.pattern", "at most 2"),
        ({"columns": [{"name": "a", "pattern": "[a-"}]}, "columns.0.pattern", "not a regular"),
        ({"columns": [{"name": "a", "colour": "red"}]}, "columns.0.colour", "Extra inputs"),
    ],
)
def test_a_bad_declaration_is_refused_naming_the_field(
    declared: dict[str, object], field: str, reason: str
) -> None:
    message = refusal(declared)
    assert message.startswith(field)
    assert reason in message


def test_safe_patterns_are_accepted() -> None:
    for pattern in ("S[0-9]{7}", "[A-Z]+-[0-9]+", "(ab|cd)[0-9]{2,4}", "(?:[a-z]{2})?x"):
        DatasetSchema.model_validate({"columns": [{"name": "a", "pattern": pattern}]})


@pytest.mark.parametrize(
    "text",
    ["", "a", "a >", "a == b c", "(a > 1", "1 == 2", "a > 1 and", "a === b", "a > 'open"],
)
def test_malformed_rules_are_syntax_errors(text: str) -> None:
    with pytest.raises(RuleSyntaxError):
        parse_rule(text)


def test_rules_nest_only_so_deep() -> None:
    with pytest.raises(RuleSyntaxError, match="deeper"):
        parse_rule("(" * 30 + "a > 1" + ")" * 30)
    with pytest.raises(RuleSyntaxError, match="at most"):
        parse_rule(" and ".join(["a > 1"] * 21))


def test_rule_columns_are_bare_japanese_or_quoted_names_and_text_escapes_quotes() -> None:
    rule = parse_rule("`end date` >= 開始日 and note != 'it''s'")
    assert rule.columns() == {"end date", "開始日", "note"}
