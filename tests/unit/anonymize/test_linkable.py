"""個人関連情報: cookie, device and advertising IDs and location traces are found by name or value."""

import importlib
import uuid

import numpy as np
import pandas as pd
import pytest

import anonymize as an
import matching
from anonymize.linkable import LinkableKind, detect_linkable
from matching import fields


def kinds(frame: pd.DataFrame) -> dict[str, LinkableKind]:
    return {found.column: found.kind for found in detect_linkable(frame)}


def test_columns_are_found_by_their_names_in_japanese_and_romaji() -> None:
    frame = pd.DataFrame(
        {
            "cookie_id": ["a", "b"],
            "広告ID": ["x", "y"],
            "端末ID": ["1", "2"],
            "緯度": ["35", "36"],
            "lon": ["139", "140"],
            "plate": ["品川", "練馬"],
            "台数": ["3", "4"],
        }
    )
    assert kinds(frame) == {
        "cookie_id": LinkableKind.COOKIE_ID,
        "広告ID": LinkableKind.ADVERTISING_ID,
        "端末ID": LinkableKind.DEVICE_ID,
        "緯度": LinkableKind.LOCATION,
        "lon": LinkableKind.LOCATION,
    }


def test_values_find_advertising_ids_mac_addresses_cookies_and_location_traces() -> None:
    rng = np.random.default_rng(7)
    rows = 200
    frame = pd.DataFrame(
        {
            "a": [str(uuid.UUID(int=int(rng.integers(0, 2**62)))).upper() for _ in range(rows)],
            "b": [":".join(f"{int(x):02x}" for x in rng.integers(0, 256, 6)) for _ in range(rows)],
            "c": [f"{int(x):032x}z" for x in rng.integers(1, 2**62, rows)],
            "d": [f"{35 + x:.5f},{139 + y:.5f}" for x, y in rng.random((rows, 2))],
            "e": [f"xn76{'0123456789bcdefg'[i % 16]}{'hjkm'[i % 4]}u" for i in range(rows)],
            "f": [f"{35 + x:.6f}" for x in rng.random(rows)],
            "g": [f"{139 + x:.6f}" for x in rng.random(rows)],
            "h": [str(int(x)) for x in rng.integers(0, 100, rows)],
            "i": ["sunny", "rain", "snow", "cloudy"] * (rows // 4),
        }
    )
    assert kinds(frame) == {
        "a": LinkableKind.ADVERTISING_ID,
        "b": LinkableKind.DEVICE_ID,
        "c": LinkableKind.COOKIE_ID,
        "d": LinkableKind.LOCATION,
        "e": LinkableKind.LOCATION,
        "f": LinkableKind.LOCATION,
        "g": LinkableKind.LOCATION,
    }


def test_a_few_odd_values_do_not_hide_a_column_and_findings_never_quote_a_value() -> None:
    ids = [str(uuid.uuid4()) for _ in range(95)] + [""] * 3 + ["n/a"] * 5
    found = detect_linkable(pd.DataFrame({"x": ids}))
    assert [(f.column, f.kind) for f in found] == [("x", LinkableKind.ADVERTISING_ID)]
    assert not any(value in found[0].reason for value in ids if value)


def test_sensor_data_without_linkable_columns_is_not_flagged() -> None:
    frame = pd.DataFrame(
        {
            "地点": ["新宿", "渋谷"] * 50,
            "温度": [f"{20 + i / 10:.1f}" for i in range(100)],
            "観測日": ["2026-11-01"] * 100,
            "code": ["S0001", "S0002"] * 50,
            "word": ["best", "desk"] * 50,
        }
    )
    assert detect_linkable(frame) == ()


def test_a_linkable_ask_matches_only_a_bid_that_confirms_consent() -> None:
    terms = matching.AskTerms("d1", "non_personal", 80, allowed_purposes=frozenset({"research"}))
    linkable = matching.AskTerms(
        "d1", "non_personal", 80, allowed_purposes=frozenset({"research"}), linkable=True
    )
    plain = matching.BidConstraints("research")
    confirmed = matching.BidConstraints("research", confirms_linkable_consent=True)
    assert matching.eligible("b", plain, "s", terms)
    assert not matching.eligible("b", plain, "s", linkable)
    assert matching.eligible("b", confirmed, "s", linkable)


@pytest.mark.parametrize("engine_book", ["fast", "reference"])
def test_the_engine_skips_a_linkable_ask_for_a_bid_without_confirmation(engine_book: str) -> None:
    # The reference book of the build `matching` serves (compiled or interpreted).
    package = "matching._native" if matching.COMPILED else "matching"
    reference = importlib.import_module(f"{package}.reference")
    factory = None if engine_book == "fast" else reference.ReferenceBook
    engine = matching.Engine(factory)
    purposes = frozenset({"research"})
    engine.apply(
        matching.Limit(
            "ask",
            "i",
            "s",
            matching.Side.SELL,
            100,
            None,
            terms=matching.AskTerms(
                "d1", "non_personal", 80, allowed_purposes=purposes, linkable=True
            ),
        )
    )
    plain = engine.apply(
        matching.Limit(
            "b1",
            "i",
            "b",
            matching.Side.BUY,
            100,
            1,
            constraints=matching.BidConstraints("research"),
        )
    )
    assert not any(isinstance(e, matching.TradeExecuted) for e in plain)
    confirmed = engine.apply(
        matching.Limit(
            "b2",
            "i",
            "c",
            matching.Side.BUY,
            100,
            1,
            constraints=matching.BidConstraints("research", confirms_linkable_consent=True),
        )
    )
    assert [e.buy_id for e in confirmed if isinstance(e, matching.TradeExecuted)] == ["b2"]


def test_the_flags_are_written_only_when_set_so_old_journals_stay_byte_identical() -> None:
    terms = matching.AskTerms("d1", "non_personal", allowed_purposes=frozenset({"research"}))
    assert "linkable" not in fields.terms_to_dict(terms)
    assert "confirms_linkable_consent" not in fields.constraints_to_dict(
        matching.BidConstraints("research")
    )
    flagged = matching.AskTerms(
        "d1", "non_personal", allowed_purposes=frozenset({"research"}), linkable=True
    )
    assert fields.terms_to_dict(flagged)["linkable"] is True
    command = matching.Update("a", "i", matching.Side.SELL, terms=flagged)
    assert matching.command_from_dict(matching.command_to_dict(command)) == command


@pytest.mark.parametrize("name", ["device_id", "idfa", "gaid", "cookie", "端末ID", "x"])
def test_the_anonymizers_release_scan_blocks_device_and_advertising_id_columns(name: str) -> None:
    release = pd.DataFrame({name: [str(uuid.uuid4()) for _ in range(20)], "年代": ["20代"] * 20})
    with pytest.raises(an.ReleaseBlocked):
        an.scan_release(release)


def test_the_release_scan_passes_the_anonymizers_own_replacement_codes_and_locations() -> None:
    release = pd.DataFrame(
        {
            "code": [uuid.uuid4().hex for _ in range(20)],  # standard 3's unlinkable codes
            "area": [f"{35 + i / 100:.4f}" for i in range(20)],
            "年代": ["20代"] * 20,
        }
    )
    an.scan_release(release)
