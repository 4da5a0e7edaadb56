"""Invariants of the score on arbitrary small tables and declarations."""

from datetime import UTC, datetime

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from market.quality import AnonymizationFigures, DatasetSchema, score_table

NOW = datetime(2026, 12, 1, tzinfo=UTC)
COLUMNS = ("a", "b", "c")
cell = st.one_of(
    st.sampled_from(["", " ", "0", "1", "7", "-3", "2.5", "x", "東京", "true", "2026-11-30"]),
    # The market's CSV ingest refuses control characters (and pandas groups text only up to a
    # NUL), so the tables scored hold none.
    st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=4),
)
rows = st.lists(st.tuples(cell, cell, cell), min_size=1, max_size=12)
column_type = st.sampled_from(["string", "integer", "number", "boolean", "date", "datetime"])


@st.composite
def declarations(draw: st.DrawFn) -> DatasetSchema:
    types = draw(st.tuples(column_type, column_type, column_type))
    columns = [{"name": n, "type": t} for n, t in zip(COLUMNS, types, strict=True)]
    if types[0] in ("integer", "number"):
        columns[0]["minimum"] = 0
    rules = []
    if types[0] == types[1] and types[0] in ("integer", "number", "date", "datetime"):
        rules.append("a <= b")
    timed = [n for n, t in zip(COLUMNS, types, strict=True) if t in ("date", "datetime")]
    return DatasetSchema.model_validate(
        {
            "columns": columns,
            "rules": rules,
            "timestamp_column": timed[0] if timed else None,
            "update_frequency_days": draw(st.sampled_from([None, 1, 30])),
            "key_columns": draw(st.sampled_from([[], ["a"]])),
        }
    )


figures = st.one_of(
    st.none(),
    st.builds(
        AnonymizationFigures,
        k=st.integers(2, 1000),
        l=st.one_of(st.none(), st.integers(2, 10)),
        ncp=st.floats(0, 1),
    ),
)


def frame(records: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=list(COLUMNS), dtype=object)


@settings(max_examples=100, deadline=None)
@given(rows, declarations(), figures)
def test_the_score_and_every_component_lie_between_0_and_100(records, declared, anonymized):  # type: ignore[no-untyped-def]
    report = score_table(frame(records), declared, now=NOW, anonymization=anonymized)
    assert 0 <= report.score <= 100
    assert 0 <= report.exact <= 100
    measured = [c for c in report.components if c.status == "measured"]
    assert all(c.score is not None and 0 <= c.score <= 100 for c in measured)
    assert abs(sum(c.effective_weight for c in report.components) - 100) < 0.05


@settings(max_examples=100, deadline=None)
@given(rows, declarations(), st.data())
def test_adding_a_duplicate_record_never_raises_uniqueness(records, declared, data):  # type: ignore[no-untyped-def]
    before = score_table(frame(records), declared, now=NOW).component("uniqueness").score
    repeated = data.draw(st.sampled_from(records))
    after = score_table(frame([*records, repeated]), declared, now=NOW)
    assert before is not None
    assert after.component("uniqueness").score <= before  # type: ignore[operator]


@settings(max_examples=100, deadline=None)
@given(rows, st.data())
def test_filling_a_missing_cell_never_lowers_completeness(records, data):  # type: ignore[no-untyped-def]
    table = frame(records)
    blank = [(r, c) for r in range(len(table)) for c in COLUMNS if not table.at[r, c].strip()]
    if not blank:
        return
    where = data.draw(st.sampled_from(blank))
    filled = table.copy()
    filled.at[where] = data.draw(
        st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=3).filter(
            lambda s: s.strip()
        )
    )
    before = score_table(table, now=NOW).component("completeness").score
    after = score_table(filled, now=NOW).component("completeness").score
    assert after is not None and before is not None and after >= before


@settings(max_examples=100, deadline=None)
@given(rows, declarations(), st.randoms(use_true_random=False))
def test_the_order_of_records_does_not_change_the_score(records, declared, random):  # type: ignore[no-untyped-def]
    shuffled = list(records)
    random.shuffle(shuffled)
    first = score_table(frame(records), declared, now=NOW)
    second = score_table(frame(shuffled), declared, now=NOW)
    assert [c.score for c in first.components] == [c.score for c in second.components]


@settings(max_examples=100, deadline=None)
@given(rows, declarations(), figures)
def test_the_score_lies_between_its_lowest_and_highest_measured_component(  # type: ignore[no-untyped-def]
    records, declared, anonymized
):
    report = score_table(frame(records), declared, now=NOW, anonymization=anonymized)
    scores = [c.score for c in report.components if c.score is not None]
    assert min(scores) - 0.01 <= report.exact <= max(scores) + 0.01
