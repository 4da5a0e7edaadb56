"""`datamarket endpoints`: every HTTP endpoint with its audience and summary, from the OpenAPI."""

from pathlib import Path
from typing import Any

import typer

METHODS = ("get", "post", "put", "patch", "delete")


def endpoints_markdown(schema: dict[str, Any]) -> str:
    """A Markdown table of every operation, grouped by tag (audience), in path order."""
    rows: dict[str, list[str]] = {}
    for path, item in sorted(schema["paths"].items()):
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["other"])[0]
            summary = (operation.get("description") or operation.get("summary") or "").strip()
            first = summary.splitlines()[0] if summary else ""
            rows.setdefault(tag, []).append(f"| `{method.upper()} {path}` | {first} |")
    lines = [
        "# Endpoints",
        "",
        "Generated from the OpenAPI document by `datamarket endpoints --out docs/endpoints.md`",
        "(a test checks it is current). The live, interactive version is `/docs` on a running",
        "market; `/openapi.json` is the machine-readable one.",
    ]
    for tag in sorted(rows):
        lines += ["", f"## {tag}", "", "| endpoint | what it does |", "|---|---|", *rows[tag]]
    return "\n".join(lines) + "\n"


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    @app.command()
    def endpoints(
        out: Path | None = typer.Option(None, help="write the Markdown here instead of stdout"),
    ) -> None:
        """List every HTTP endpoint with its audience and what it does."""
        from api.app import create_app

        text = endpoints_markdown(create_app().openapi())
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
