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


def _reasons(specs: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for spec in specs:
        column, _, reason = spec.partition("=")
        if not column.strip() or not reason.strip():
            raise ValueError(f"--override expects COL=REASON, got {spec!r}")
        result[column.strip()] = reason.strip()
    return result


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
    overrides: list[str] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Load the table, then take the API's one definition path: labels resolved against the
    detector, release, scan; return the output frame and the report document."""
    from anonymize.tables import read_table
    from market import anonymization

    data = read_table(input_csv, sep=sep)
    kinds: dict[str, str] = {}
    # Unlisted columns are labelled insensitive; the detector's findings still override them.
    for kind, names in (
        ("insensitive", list(data.columns)),
        ("insensitive", insensitive),
        ("linking", linking),
        ("identifying", identifying),
        ("sensitive", sensitive),
        ("quasi_identifying", quasi),
    ):
        kinds.update(dict.fromkeys(names, kind))
    reasons = _reasons(overrides or [])
    columns: dict[str, dict[str, str]] = {
        name: {"kind": kind, **({"override_reason": reasons[name]} if name in reasons else {})}
        for name, kind in kinds.items()
    }
    spec = anonymization.parse_privacy_spec(
        {
            "columns": columns,
            "k": k,
            "l": l_value,
            "t": t_value,
            "suppression": suppression,
            "algorithm": algorithm,
            "quality": quality,
            "relaxed_mondrian": relaxed,
        }
    )
    resolution = anonymization.resolve(data, spec)
    hierarchies = _hierarchies(hierarchy_files)
    result = _with_progress(
        len(data),
        lambda progress: anonymization.release(
            data, spec, resolution, hierarchies=hierarchies, progress=progress
        ),
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
        "overrides": anonymization.override_records(resolution),
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
        override: list[str] = typer.Option(
            [], "--override", help="COL=REASON: release COL less protected than detected"
        ),
    ) -> None:
        """Anonymize a table into 匿名加工情報 by the API's definition path.

        Unlisted columns are labelled insensitive. The detector's findings override labels:
        identifiers are removed, addresses and dates generalized; releasing any other detected
        column less protected than proposed needs --override COL=REASON.
        """
        from anonymize import AnonymizationError
        from market.anonymization import OverrideNeedsReason
        from market.errors import MarketError

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
                overrides=override,
            )
        except OverrideNeedsReason as error:
            typer.echo(
                f"error: {error.reason}. List each such column with the kind the detector "
                "proposes, or give --override COL=REASON",
                err=True,
            )
            raise typer.Exit(code=2) from None
        except MarketError as error:
            typer.echo(f"error: {error.reason}", err=True)
            raise typer.Exit(code=2) from None
        except (AnonymizationError, ValueError, OSError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from None
        for item in document["overrides"]:
            typer.echo(
                f"note: column {item['column']!r} labelled {item['labelled']}, processed as "
                f"{item['applied']} ({item['by']}: {item['reason'] or item['finding']})",
                err=True,
            )
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
