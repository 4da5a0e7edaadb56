"""The interactive API docs at /docs, served with Swagger UI from the pinned `fastapi-swagger` package.

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script: it
breaks offline and under the strict page policy (api/security_headers.py). Here the assets come
from the installed package and the start-up script is a file of this origin.
"""

from html import escape
from pathlib import Path

import fastapi_swagger.resources
from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from market.errors import NotFound

ASSETS = Path(fastapi_swagger.resources.__file__).parent
SERVED_ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"})

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} - API docs</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-init.js"></script>
</body></html>
"""

INIT_SCRIPT = """window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
  });
});
"""


def install_docs(app: FastAPI) -> None:
    """Serve /docs and its assets; the app must be built with `docs_url=None`."""
    page = PAGE.format(title=escape(app.title), openapi_url=escape(app.openapi_url or ""))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/docs/swagger-init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(INIT_SCRIPT, media_type="text/javascript")

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> FileResponse:
        if name not in SERVED_ASSETS:
            raise NotFound(f"there is no docs asset {name}")
        return FileResponse(ASSETS / name, headers={"Cache-Control": "public, max-age=86400"})
