"""`datamarket` commands of the anonymize feature."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

LONG_INPUT_ROWS = 100_000


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _write_atomically(targets: dict[Path, bytes]) -> None:
    """Write every file to a temporary sibling first, then rename them all into place."""
    staged: list[tuple[str, Path]] = []
    try:
        for target, content in targets.items():
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            staged.append((temporary, target))
        for temporary, target in staged:
            os.replace(temporary, target)
    finally:
        for temporary, _ in staged:
            if os.path.exists(temporary):
                os.unlink(temporary)


def _hierarchies(specs: list[str]) -> dict[str, Any]:
    from anonymize import Hierarchy

    result: dict[str, Any] = {}
    for spec in specs:
        column, _, path = spec.partition("=")
        if not column or not path:
            raise ValueError(f"--hierarchy expects COL=FILE.csv, got {spec!r}")
        result[column.strip()] = Hierarchy.from_csv(Path(path.strip()), sep=";")
    return result


def _refuse_unlisted_identifiers(unlisted: Any) -> None:
    """Unlisted columns are released as is: refuse any the detector takes for identifiers."""
    from anonymize import ColumnKind, ContradictoryConfig, detect_definition

    proposal = detect_definition(unlisted)
    for column in proposal.columns:
        if column.spec.kind in (ColumnKind.IDENTIFYING, ColumnKind.LINKING):
            raise ContradictoryConfig(
                f"column {column.column!r} is not listed but looks {column.spec.kind.value} "
                f"({column.reason}); list it with --identifying or --linking, or with "
                "--insensitive to release it as is"
            )


def run(
    input_csv: Path,
    *,
    quasi: list[str],
    sensitive: list[str],
    identifying: list[str],
    linking: list[str],
    insensitive: list[str],
    k: int,
    l_value: int | None,
    t_value: float | None,
    suppression: float,
    hierarchy_files: list[str],
    algorithm: str,
    quality: str,
    relaxed: bool,
    sep: str,
) -> tuple[Any, dict[str, Any]]:
    """Load, define, configure and anonymize; return the output frame and the report document."""
    from anonymize import (
        Algorithm,
        Config,
        ContradictoryConfig,
        Definition,
        DistinctLDiversity,
        KAnonymity,
        QualityModel,
        TCloseness,
        anonymize,
    )
    from anonymize.tables import read_table

    data = read_table(input_csv, sep=sep)
    named = set(quasi) | set(sensitive) | set(identifying) | set(linking) | set(insensitive)
    rest = [column for column in data.columns if column not in named]
    _refuse_unlisted_identifiers(data[rest])
    rest += [column for column in insensitive if column not in rest]
    definition = Definition.of(
        quasi=quasi,
        sensitive=sensitive,
        identifying=identifying,
        linking=linking,
        insensitive=rest,
    )
    if (l_value or t_value) and not sensitive:
        raise ContradictoryConfig("--l and --t protect --sensitive columns; name at least one")
    criteria: list[Any] = [KAnonymity(k)]
    criteria += [DistinctLDiversity(name, l_value) for name in sensitive if l_value]
    hierarchies = _hierarchies(hierarchy_files)
    # A hierarchy given for a sensitive column makes t-closeness use hierarchical distance.
    criteria += [TCloseness(name, t_value, hierarchies.get(name)) for name in sensitive if t_value]
    try:
        config = Config(
            tuple(criteria),
            suppression_limit=suppression,
            quality=QualityModel(quality),
            algorithm=Algorithm(algorithm),
            relaxed_mondrian=relaxed,
        )
    except ValueError as error:
        raise ContradictoryConfig(str(error)) from None
    result = _with_progress(
        len(data), lambda progress: anonymize(data, definition, hierarchies, config, progress)
    )
    metrics = result.metrics
    document: dict[str, Any] = {
        "k": result.verification.k,
        "rows_in": metrics.rows_in,
        "rows_out": metrics.rows_out,
        "suppressed_rows": metrics.suppressed_rows,
        "equivalence_classes": metrics.equivalence_classes,
        "dm": metrics.dm,
        "aecs": metrics.aecs,
        "ncp": metrics.ncp,
        "entropy": metrics.entropy,
        "algorithm": result.algorithm,
        "transformation": result.transformation,
        "steps": [step.to_dict() for step in result.report.steps],
        "risk": result.risk.to_dict(),
        "alternatives": {name: value.to_dict() for name, value in result.alternatives.items()},
        "report": result.report.to_dict(),
    }
    if l_value:
        document["l"] = min(result.verification.l_distinct.values())
    if t_value:
        document["t"] = max(result.verification.t.values())
    return result.output, document


def _with_progress(rows: int, work: Callable[[Any], Any]) -> Any:
    """Run `work(progress)` under a rich progress bar when the input is long."""
    if rows < LONG_INPUT_ROWS:
        return work(None)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("anonymizing", total=1.0)

        def update(stage: str, fraction: float) -> None:
            bar.update(task, completed=fraction, description=stage)

        return work(update)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add this feature's commands to the CLI."""

    @app.command("anonymize")
    def anonymize_command(
        input_csv: Path = typer.Argument(..., exists=True, dir_okay=False, help="input table"),
        out: Path = typer.Option(..., "--out", help="released CSV (comma-separated)"),
        report: Path = typer.Option(..., "--report", help="processing report (JSON)"),
        quasi: str = typer.Option(..., "--quasi", help="quasi-identifiers, comma-separated"),
        sensitive: str = typer.Option("", "--sensitive", help="sensitive columns"),
        identifying: str = typer.Option("", "--identifying", help="columns to delete"),
        linking: str = typer.Option("", "--linking", help="internal IDs (deleted)"),
        insensitive: str = typer.Option("", "--insensitive", help="release as is"),
        k: int = typer.Option(..., "--k", help="k of k-anonymity"),
        l_value: int | None = typer.Option(None, "--l", help="distinct l-diversity"),
        t_value: float | None = typer.Option(None, "--t", help="t-closeness (EMD)"),
        suppression: float = typer.Option(0.0, "--suppression", help="share of rows"),
        hierarchy: list[str] = typer.Option([], "--hierarchy", help="COL=FILE.csv (ARX format)"),
        algorithm: str = typer.Option("auto", "--algorithm", help="auto|optimal|mondrian"),
        quality: str = typer.Option("dm", "--quality", help="dm|aecs|entropy|ncp"),
        relaxed: bool = typer.Option(False, "--relaxed", help="relaxed Mondrian"),
        sep: str = typer.Option(",", "--sep", help="input separator"),
    ) -> None:
        """Anonymize a table into 匿名加工情報; unlisted columns are released as insensitive."""
        from anonymize import AnonymizationError

        try:
            output, document = run(
                input_csv,
                quasi=_split(quasi),
                sensitive=_split(sensitive),
                identifying=_split(identifying),
                linking=_split(linking),
                insensitive=_split(insensitive),
                k=k,
                l_value=l_value,
                t_value=t_value,
                suppression=suppression,
                hierarchy_files=hierarchy,
                algorithm=algorithm,
                quality=quality,
                relaxed=relaxed,
                sep=sep,
            )
        except (AnonymizationError, ValueError, OSError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from None
        _write_atomically(
            {
                out: output.to_csv(index=False).encode("utf-8"),
                report: (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode(),
            }
        )
        typer.echo(
            f"{document['rows_out']} of {document['rows_in']} rows released "
            f"({document['suppressed_rows']} suppressed), k={document['k']}, "
            f"algorithm {document['algorithm']}"
        )

    @bench_app.command("anonymize")
    def bench_anonymize(
        sizes: str = typer.Option("1000000", "--sizes", help="synthetic row counts, e.g. 1e6,1e7"),
        skip_peer: bool = typer.Option(False, "--skip-peer", help="do not run anonypy"),
        as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
        skip_adult: bool = typer.Option(False, "--skip-adult", help="only peer and scale"),
        algorithms: str = typer.Option("optimal,mondrian", "--algorithms", help="at scale"),
    ) -> None:
        """Benchmark the anonymizer on Adult (vs ARX's figures and anonypy) and at scale."""
        from bench.anonymize.run import main

        main(
            [int(float(size)) for size in _split(sizes)], skip_peer, as_json, skip_adult, algorithms
        )
