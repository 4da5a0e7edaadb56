"""The `datamarket anonymize` command: outputs, report fields, and clean failures."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from datamarket.commands.anonymize import register

from .conftest import ARX_QIS, adult_dir


@pytest.fixture()
def cli() -> typer.Typer:
    app = typer.Typer()
    bench = typer.Typer()
    register(app, bench)
    app.add_typer(bench, name="bench")
    return app


def hierarchy_options(columns: list[str]) -> list[str]:
    folder = adult_dir() / "arx_hierarchies"
    options = []
    for column in columns:
        options += ["--hierarchy", f"{column}={folder / f'adult_hierarchy_{column}.csv'}"]
    return options


def adult_run(out: Path, report: Path) -> list[str]:
    """The start of an `anonymize` call on ARX's Adult table writing OUT and REPORT."""
    return [
        "anonymize",
        str(adult_dir() / "adult.csv"),
        "--sep",
        ";",
        "--out",
        str(out),
        "--report",
        str(report),
    ]


def test_anonymize_writes_csv_and_report_with_measured_figures(cli, tmp_path: Path):
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    result = CliRunner().invoke(
        cli,
        [
            *adult_run(out, report),
            "--quasi",
            ",".join(ARX_QIS),
            "--sensitive",
            "occupation",
            "--k",
            "5",
            "--l",
            "2",
            "--algorithm",
            "optimal",
            *hierarchy_options(ARX_QIS),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    for key in (
        "k",
        "l",
        "rows_in",
        "rows_out",
        "suppressed_rows",
        "equivalence_classes",
        "dm",
        "aecs",
        "ncp",
        "algorithm",
        "steps",
    ):
        assert key in document
    assert document["k"] >= 5 and document["l"] >= 2
    assert document["dm"] == 55_170_356
    assert [step["standard"] for step in document["steps"]] == [1, 2, 3, 4, 5]
    released = pd.read_csv(out, dtype=str)
    assert len(released) == document["rows_out"]
    assert "*" in set(released["race"])


def test_suppressed_rows_are_left_out_and_counted(cli, tmp_path: Path):
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    result = CliRunner().invoke(
        cli,
        [
            *adult_run(out, report),
            "--quasi",
            ",".join(ARX_QIS),
            "--k",
            "5",
            "--suppression",
            "0.04",
            "--algorithm",
            "optimal",
            *hierarchy_options(ARX_QIS),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    released = pd.read_csv(out, dtype=str)
    assert len(released) == 30_162 - document["suppressed_rows"]
    assert document["suppressed_rows"] > 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--quasi", "age,sex,nope", "--k", "5"], "unknown column"),
        (["--quasi", "age,sex", "--k", "40000"], "exceeds"),
        (["--quasi", "age,sex", "--k", "5", "--hierarchy", "sex=RACE"], "lacks 2 distinct"),
        (["--quasi", "age,sex", "--k", "5", "--l", "2"], "sensitive"),
        (["--quasi", "age,sex", "--k", "5", "--algorithm", "fastest"], "'optimal' or 'mondrian'"),
        (["--quasi", "age", "--k", "5"], "--override COL=REASON"),
    ],
)
def test_bad_input_fails_with_a_message_and_writes_nothing(cli, tmp_path: Path, arguments, message):
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    race = str(adult_dir() / "arx_hierarchies" / "adult_hierarchy_race.csv")
    arguments = [a.replace("RACE", race) for a in arguments]
    result = CliRunner().invoke(
        cli,
        [*adult_run(out, report), "--identifying", "salary-class", *arguments],
    )
    assert result.exit_code != 0
    assert message in result.output
    assert not out.exists() and not report.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_name_column_is_removed_whether_unlisted_or_labelled_insensitive(cli, tmp_path: Path):
    source = tmp_path / "in.csv"
    frame = pd.DataFrame(
        {"氏名": [f"山田{i}" for i in range(40)], "年齢": [str(20 + i % 30) for i in range(40)]}
    )
    source.write_text(frame.to_csv(index=False), encoding="utf-8")
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    base = [
        "anonymize",
        str(source),
        "--out",
        str(out),
        "--report",
        str(report),
        "--quasi",
        "年齢",
        "--k",
        "4",
    ]
    for extra in (
        [],
        ["--insensitive", "氏名"],
        ["--insensitive", "氏名", "--override", "氏名=ok"],
    ):
        result = CliRunner().invoke(cli, [*base, *extra])
        assert result.exit_code == 0, result.output
        assert "氏名" in result.output and "identifying" in result.output
        released = out.read_text(encoding="utf-8")
        assert "氏名" not in released and "山田" not in released
        document = json.loads(report.read_text())
        assert document["overrides"][0]["column"] == "氏名"
        assert document["overrides"][0]["by"] == "detector"
        assert document["steps"][0]["columns"] == ["氏名"]


def test_cp932_input_with_japanese_columns_is_read(cli, tmp_path: Path):
    source = tmp_path / "in.csv"
    frame = pd.DataFrame(
        {
            "氏名": [f"山田{i}" for i in range(40)],
            "年齢": [str(20 + i % 30) for i in range(40)],
            "性別": ["男" if i % 2 else "女" for i in range(40)],
        }
    )
    source.write_bytes(frame.to_csv(index=False).encode("cp932"))
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    result = CliRunner().invoke(
        cli,
        [
            "anonymize",
            str(source),
            "--out",
            str(out),
            "--report",
            str(report),
            "--quasi",
            "年齢,性別",
            "--identifying",
            "氏名",
            "--k",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    released = pd.read_csv(out, dtype=str)
    assert "氏名" not in released.columns
    assert released.groupby(["年齢", "性別"]).size().min() >= 4


def test_long_inputs_get_a_progress_bar(cli, tmp_path: Path, monkeypatch):
    import datamarket.commands.anonymize as command

    monkeypatch.setattr(command, "LONG_INPUT_ROWS", 10)
    stages: list[str] = []
    real = command._with_progress

    def spy(rows, work):
        return real(rows, lambda progress: work(lambda s, f: (stages.append(s), progress(s, f))))

    monkeypatch.setattr(command, "_with_progress", spy)
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    result = CliRunner().invoke(
        cli,
        [
            *adult_run(out, report),
            "--quasi",
            "age,sex",
            "--identifying",
            "salary-class",
            "--k",
            "5",
            "--algorithm",
            "mondrian",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "prepare" in stages and "report" in stages


def test_t_closeness_uses_the_hierarchy_given_for_the_sensitive_column(cli, tmp_path: Path):
    out, report = tmp_path / "out.csv", tmp_path / "report.json"
    folder = adult_dir() / "arx_hierarchies"
    result = CliRunner().invoke(
        cli,
        [
            *adult_run(out, report),
            "--quasi",
            "age,sex,race",
            "--sensitive",
            "occupation",
            "--identifying",
            "salary-class",
            "--k",
            "5",
            "--t",
            "0.2",
            "--algorithm",
            "mondrian",
            "--hierarchy",
            f"occupation={folder / 'adult_hierarchy_occupation.csv'}",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["t"] <= 0.2
