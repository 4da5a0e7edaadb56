"""A small run of `datamarket bench startup`: restore and full replay reach the same state."""

from typer.testing import CliRunner

from datamarket.cli import app


def test_bench_startup_smoke(postgres_url: str) -> None:
    for database in (None, postgres_url):
        arguments = ["bench", "startup", "--commands", "3000", "--resting", "500", "--tail", "400"]
        if database is not None:
            arguments += ["--database-url", database]
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.output
        assert "same_state: True" in result.output
        assert "tail: 400" in result.output
