"""`/docs`: the OpenAPI documentation with Swagger UI served from this server.

FastAPI's default page loads Swagger UI from a CDN, which a closed or offline network cannot
reach; here its files come from the npm package `swagger-ui-dist` installed into `web/`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from api.routes.watch import web_dir
from ingest.errors import NotFound

router = APIRouter(include_in_schema=False)
_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    """Swagger UI for /openapi.json."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="Podium API",
        swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger-ui/swagger-ui.css",
        swagger_favicon_url="data:,",
    )


@router.get("/static/swagger-ui/{name}", response_class=FileResponse)
def swagger_asset(name: str) -> FileResponse:
    """The two Swagger UI files the docs page needs (nothing else is served from there)."""
    path = web_dir() / "node_modules" / "swagger-ui-dist" / name
    if name not in _FILES or not path.is_file():
        raise NotFound("Swagger UI is not installed: run `npm ci --prefix web`.",
                       code="docs_not_installed")
    return FileResponse(path, media_type=_FILES[name], headers={"Cache-Control": "max-age=3600"})
