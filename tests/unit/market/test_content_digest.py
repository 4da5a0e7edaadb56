"""The content digest recognises a table whatever its row order, column order or quoting."""

import io

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from market.datasets import content_digest, csv_frame

CSV = "地点,台数,観測日\n新宿,120,2026-11-01\n渋谷,98,2026-11-02\n池袋,77,2026-11-03\n".encode()


def test_quoting_row_and_column_order_do_not_change_it() -> None:
    reordered = (
        '"観測日",台数,"地点"\n2026-11-03,77,池袋\n"2026-11-01",120,新宿\n2026-11-02,"98",渋谷\n'
    )
    assert content_digest(csv_frame(reordered.encode())) == content_digest(csv_frame(CSV))


def test_one_changed_dropped_or_repeated_row_changes_it() -> None:
    original = content_digest(csv_frame(CSV))
    assert content_digest(csv_frame(CSV.replace(b"120", b"121"))) != original
    assert content_digest(csv_frame(CSV.rsplit(b"\n", 2)[0] + b"\n")) != original
    assert content_digest(csv_frame(CSV + "池袋,77,2026-11-03\n".encode())) != original


def test_a_renamed_column_changes_it() -> None:
    renamed = CSV.replace("台数".encode(), "件数".encode(), 1)
    assert content_digest(csv_frame(renamed)) != content_digest(csv_frame(CSV))


cells = st.text(alphabet='abc,"1 東', max_size=5)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=12),
    seed=st.randoms(use_true_random=False),
)
def test_any_permutation_has_the_same_digest(rows: list[tuple[str, ...]], seed) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=str)
    shuffled = frame.sample(frac=1, random_state=seed.randint(0, 2**31)).reset_index(drop=True)
    shuffled = shuffled[["c", "a", "b"]]
    buffer = io.BytesIO()
    shuffled.to_csv(buffer, index=False, quoting=1)  # every cell quoted
    assert content_digest(csv_frame(buffer.getvalue())) == content_digest(frame)
