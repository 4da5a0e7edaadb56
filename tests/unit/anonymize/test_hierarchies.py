"""Hierarchies as data: ARX files, intervals, dates, top coding and Japanese geography."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from anonymize import (
    Hierarchy,
    HierarchyMissingValue,
    InvalidHierarchy,
    age_band_hierarchy,
    date_hierarchy,
    geography_hierarchy,
    interval_hierarchy,
    prefecture_hierarchy,
    prefectures,
)
from anonymize.builders import top_code
from anonymize.geography import regions


def test_arx_hierarchy_file_loads_with_levels(adult_hierarchies):
    age = adult_hierarchies["age"]
    assert age.height == 5
    assert age.rows[0][-1] == "*"


def test_cp932_hierarchy_file_loads(tmp_path: Path):
    path = tmp_path / "h.csv"
    path.write_bytes("東京都;関東;*\n大阪府;近畿;*\n".encode("cp932"))
    assert Hierarchy.from_csv(path).values == ["東京都", "大阪府"]


def test_inconsistent_hierarchy_is_rejected():
    with pytest.raises(InvalidHierarchy):
        Hierarchy.from_rows([("a", "x", "*"), ("b", "x", "*"), ("c", "y", "*"), ("d", "y", "z")])
    with pytest.raises(InvalidHierarchy):
        Hierarchy.from_rows([("a", "p", "q", "*"), ("b", "p", "r", "*")])


def test_intervals_nest_and_end_at_root():
    hierarchy = interval_hierarchy([str(v) for v in range(17, 91)], widths=(5, 10, 20))
    row = dict(zip(hierarchy.values, hierarchy.rows, strict=True))["37"]
    assert row == ("37", "35-39", "30-39", "20-39", "*")


def test_top_coding_recodes_the_oldest_into_one_label():
    hierarchy = top_code(
        interval_hierarchy([str(v) for v in range(17, 100)], (5, 10)), 90, "90歳以上"
    )
    rows = dict(zip(hierarchy.values, hierarchy.rows, strict=True))
    assert rows["93"][1] == rows["99"][1] == "90歳以上"
    assert rows["89"][1] == "85-89"


def test_dates_cut_to_year_month_and_age_bands():
    dates = date_hierarchy(["1980-01-02", "1980-01-30", "1975-12-31"])
    assert dates.level(1) == ["1975-12", "1980-01", "1980-01"]
    bands = age_band_hierarchy(["1980-01-02"], reference=dt.date(2026, 11, 27), widths=(5, 10))
    assert bands.rows[0] == ("1980-01-02", "45-49", "40-49", "*")


def test_the_47_prefectures_and_8_regions_ship_with_the_library():
    assert len(prefectures()) == 47
    assert regions() == ["北海道", "東北", "関東", "中部", "近畿", "中国", "四国", "九州・沖縄"]
    assert prefecture_hierarchy().height == 3


def test_geography_goes_address_municipality_prefecture_region_root():
    hierarchy = geography_hierarchy(
        ["東京都千代田区千代田1-1", "神奈川県横浜市中区山下町", "三重県四日市市諏訪町"]
    )
    rows = dict(zip(hierarchy.values, hierarchy.rows, strict=True))
    assert rows["東京都千代田区千代田1-1"][1:] == ("東京都千代田区", "東京都", "関東", "*")
    assert rows["神奈川県横浜市中区山下町"][1] == "神奈川県横浜市"
    assert rows["三重県四日市市諏訪町"][1:3] == ("三重県四日市市", "三重県")


def test_address_without_prefecture_is_a_missing_value():
    with pytest.raises(HierarchyMissingValue) as error:
        geography_hierarchy(["どこか"], column="住所")
    assert "どこか" not in str(error.value)


def test_top_coding_a_flat_hierarchy_is_refused():
    with pytest.raises(InvalidHierarchy, match="interval hierarchy"):
        top_code(Hierarchy.flat(["30", "95"]), 90)
