"""docs/endpoints.md lists exactly the endpoints the application serves."""

from pathlib import Path

from api.app import create_app
from datamarket.commands.api_docs import endpoints_markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "endpoints.md"


def test_the_endpoint_list_is_current() -> None:
    expected = endpoints_markdown(create_app().openapi())
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/endpoints.md is stale: run `datamarket endpoints --out docs/endpoints.md`"
    )
