"""`datamarket` commands of the matching feature."""

from pathlib import Path

import typer


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add this feature's commands to the CLI."""
    matching_app = typer.Typer(help="Matching engine: journals and replays.", no_args_is_help=True)
    app.add_typer(matching_app, name="matching")

    @matching_app.command("replay")
    def replay(
        commands: Path = typer.Argument(
            ..., exists=True, dir_okay=False, help="JSON Lines commands"
        ),
        out: Path = typer.Option(..., "--out", help="where to write the events (JSON Lines)"),
    ) -> None:
        """Replay a command journal and write the event stream; bad lines write nothing."""
        from matching import JournalError, events_to_lines, parse_journal
        from matching import replay as run_replay

        with commands.open(encoding="utf-8") as journal:
            try:
                parsed = parse_journal(journal)
            except JournalError as error:
                typer.echo(f"{commands}: {error}", err=True)
                raise typer.Exit(code=1) from None
        engine, events = run_replay(parsed)
        out.write_text("".join(events_to_lines(events)), encoding="utf-8")
        typer.echo(
            f"{len(parsed)} commands, {len(events)} events, state hash {engine.state_hash()}"
        )

    @bench_app.command("matching")
    def bench_matching(
        messages: int = typer.Option(1_000_000, help="messages after the 1,000 resting orders"),
        seed: int = typer.Option(1, help="seed of the command stream"),
        as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
    ) -> None:
        """Benchmark the matching engine against pyorderbook and a minimal book."""
        from bench.matching.run import main

        main(messages, seed, as_json)

    @bench_app.command("matching-replay")
    def bench_matching_replay(
        messages: int = typer.Option(1_000_000, help="commands in the mixed stream"),
        seed: int = typer.Option(20261127, help="seed of the command stream"),
        reference: bool = typer.Option(
            True, "--reference/--no-reference", help="replay on the reference book too"
        ),
        as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
    ) -> None:
        """Replay a seeded mixed stream on every build and book; exit 1 unless all agree."""
        from bench.matching.replay import main

        if not main(messages, seed, reference, as_json):
            raise typer.Exit(1)

    @bench_app.command("startup")
    def bench_startup(
        commands: int = typer.Option(1_000_000, help="journaled commands"),
        resting: int = typer.Option(100_000, help="about this many resting orders at the end"),
        tail: int | None = typer.Option(
            None,
            help="journal rows after the snapshot (default: twice the larger of the snapshot interval and --resting)",
        ),
        database_url: str | None = typer.Option(
            None, help="database to build it in (default: SQLite in a temporary folder)"
        ),
        as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
    ) -> None:
        """Time engine start-up (snapshot + journal tail) beside full replay; exit 1 unless they agree."""
        from bench.startup.run import main

        if not main(commands, resting, tail, database_url, as_json):
            raise typer.Exit(1)
