"""`datamarket anonymize` takes the API's definition path: detection, overrides, floors, scan."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from datamarket.commands.anonymize import register
from market import anonymization

STREETS = [
    "東京都新宿区西新宿",
    "東京都渋谷区神南",
    "大阪府大阪市北区梅田",
    "神奈川県横浜市中区山下町",
]


@pytest.fixture()
def cli() -> typer.Typer:
    app, bench = typer.Typer(), typer.Typer()
    register(app, bench)
    app.add_typer(bench, name="bench")
    return app


def people_csv(path: Path, rows: int = 300) -> pd.DataFrame:
    rng = random.Random(5)
    frame = pd.DataFrame(
        {
            "氏名": [f"山田{i}郎" for i in range(rows)],
            "住所": [f"{rng.choice(STREETS)}{rng.randint(1, 3)}-{i % 7}" for i in range(rows)],
            "生年月日": [
                f"{rng.randint(1950, 1990)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                for _ in range(rows)
            ],
            "性別": [rng.choice(["男", "女"]) for _ in range(rows)],
            "診断": [rng.choice(["高血圧", "正常"]) for _ in range(rows)],
        }
    )
    path.write_text(frame.to_csv(index=False), encoding="utf-8")
    return frame


def arguments(source: Path, out: Path, report: Path, algorithm: str) -> list[str]:
    return [
        "anonymize",
        str(source),
        "--out",
        str(out),
        "--report",
        str(report),
        "--quasi",
        "住所,生年月日,性別",
        "--identifying",
        "氏名",
        "--sensitive",
        "診断",
        "--k",
        "5",
        "--algorithm",
        algorithm,
    ]


@pytest.mark.parametrize("algorithm", ["mondrian", "optimal"])
def test_no_original_address_or_date_appears_in_the_output(cli, tmp_path: Path, algorithm):
    source, out, report = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "report.json"
    data = people_csv(source)
    result = CliRunner().invoke(cli, arguments(source, out, report, algorithm))
    assert result.exit_code == 0, result.output
    released = out.read_text(encoding="utf-8")
    for original in (*data["住所"], *data["生年月日"]):
        assert original not in released
    for cell in pd.read_csv(out, dtype=str)["生年月日"]:
        assert cell == "*" or "-" not in cell or len(cell) == len("1950-1959"), cell
    standard_1 = json.loads(report.read_text())["steps"][0]
    assert standard_1["columns"] == ["氏名", "住所", "生年月日"]
    assert "住所>=1" in standard_1["action"] and "生年月日>=2" in standard_1["action"]


def test_the_cli_and_the_api_release_the_same_table(cli, tmp_path: Path):
    source, out, report = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "report.json"
    data = people_csv(source)
    result = CliRunner().invoke(cli, arguments(source, out, report, "optimal"))
    assert result.exit_code == 0, result.output
    spec = anonymization.parse_spec(
        {
            "title": "t",
            "category": "healthcare.checkup",
            "columns": {
                "氏名": {"kind": "identifying"},
                "住所": {"kind": "quasi_identifying"},
                "生年月日": {"kind": "quasi_identifying"},
                "性別": {"kind": "quasi_identifying"},
                "診断": {"kind": "sensitive"},
            },
            "k": 5,
            "algorithm": "optimal",
        }
    )
    api = anonymization.release(data, spec, anonymization.resolve(data, spec))
    pd.testing.assert_frame_equal(
        pd.read_csv(out, dtype=str), api.output.astype(str), check_dtype=False
    )


def test_releasing_a_detected_column_as_is_needs_an_override_reason(cli, tmp_path: Path):
    source, out, report = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "report.json"
    people_csv(source)
    base = arguments(source, out, report, "optimal")
    base[base.index("--sensitive")] = "--insensitive"
    refused = CliRunner().invoke(cli, base)
    assert refused.exit_code == 2
    assert "診断" in refused.output and "--override COL=REASON" in refused.output
    assert not out.exists() and not report.exists()
    accepted = CliRunner().invoke(cli, [*base, "--override", "診断=aggregate outcome only"])
    assert accepted.exit_code == 0, accepted.output
    [override] = json.loads(report.read_text())["overrides"]
    assert override["column"] == "診断" and override["reason"] == "aggregate outcome only"
