"""`datamarket matching replay`: JSON Lines in, JSON Lines out, nothing written on bad input."""

import json
from pathlib import Path

from typer.testing import CliRunner

from datamarket.cli import app

LINES = [
    {
        "op": "limit",
        "id": "a1",
        "instrument": "i",
        "participant": "s",
        "side": "sell",
        "price": 100,
        "qty": None,
    },
    {
        "op": "limit",
        "id": "b1",
        "instrument": "i",
        "participant": "b",
        "side": "buy",
        "price": 100,
        "qty": 2,
    },
]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_replay_writes_one_event_per_line(tmp_path: Path) -> None:
    journal = write(tmp_path / "commands.jsonl", [json.dumps(line) for line in LINES])
    out = tmp_path / "events.jsonl"
    result = CliRunner().invoke(app, ["matching", "replay", str(journal), "--out", str(out)])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["type"] for e in events] == ["accepted", "accepted", "trade"]
    assert (events[2]["qty"], events[2]["price"]) == (2, 100)


def test_replay_names_the_bad_line_and_writes_nothing(tmp_path: Path) -> None:
    journal = write(tmp_path / "commands.jsonl", [json.dumps(LINES[0]), '{"op": "limit", "id": 3}'])
    out = tmp_path / "events.jsonl"
    result = CliRunner().invoke(app, ["matching", "replay", str(journal), "--out", str(out)])
    assert result.exit_code == 1
    assert "line 2" in result.output
    assert not out.exists()


def test_bench_replay_finds_every_build_and_book_in_agreement() -> None:
    result = CliRunner().invoke(app, ["bench", "matching-replay", "--messages", "3000", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["agree"] is True
    engines = figures["engines"]
    assert {"interpreted_fast"} < set(engines)
    assert len({e["state_hash"] for e in engines.values()}) == 1
    assert all(e["trades"] > 0 for e in engines.values())
