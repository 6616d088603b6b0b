"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served from the project's own npm packages.

FastAPI's defaults load both from a CDN; a bank's integration network often reaches no CDN.
``npm ci`` installs ``swagger-ui-dist`` and ``redoc`` (exact pins in package.json) into
``node_modules``, and the app serves their files under ``/static/swagger-ui/`` and
``/static/redoc/``: the pages need nothing beyond the API's own host.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from ledger_client import LedgerError

__all__ = ["REDOC_DIR", "SWAGGER_UI_DIR", "DocsAssetsMissing", "install_docs"]

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
SWAGGER_UI_DIR = NODE_MODULES / "swagger-ui-dist"
REDOC_DIR = NODE_MODULES / "redoc" / "bundles"
#: The files the two pages load; all must exist for the app to start.
REQUIRED = (
    SWAGGER_UI_DIR / "swagger-ui-bundle.js",
    SWAGGER_UI_DIR / "swagger-ui.css",
    SWAGGER_UI_DIR / "favicon-32x32.png",
    REDOC_DIR / "redoc.standalone.js",
)
#: The pages may load from the API's own origin only. ReDoc 2.5.2 draws its "API docs by
#: Redocly" logo from cdn.redoc.ly, hard-coded; this policy keeps the browser from asking
#: for it (the link's text stays). Inline scripts and styles: the pages' own bootstrap, and
#: the styles both UIs set at run time. Blob workers: ReDoc's search index.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'"
)


class DocsAssetsMissing(LedgerError, FileNotFoundError):
    """Swagger UI's or ReDoc's files are not installed: run ``npm ci`` in the project root."""


def check_assets(
    required: tuple[Path, ...] = REQUIRED,
    packages: str = "swagger-ui-dist and redoc, which /docs and /redoc serve",
) -> None:
    """Raise :class:`DocsAssetsMissing` naming the first missing file and ``npm ci``."""
    for path in required:
        if not path.is_file():
            raise DocsAssetsMissing(
                f"{path} is missing: run `npm ci` (or `make setup`) in {NODE_MODULES.parent} "
                f"to install {packages}"
            )


def install_docs(app: FastAPI) -> None:
    """Mount the assets and add ``/docs``, its OAuth2 redirect, and ``/redoc`` to ``app``
    (built with ``docs_url=None, redoc_url=None``)."""
    check_assets()
    app.mount("/static/swagger-ui", StaticFiles(directory=SWAGGER_UI_DIR), name="swagger-ui")
    app.mount("/static/redoc", StaticFiles(directory=REDOC_DIR), name="redoc")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = "/docs/oauth2-redirect"
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _self_only(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{title} - Swagger UI",
                oauth2_redirect_url=redirect_url,
                swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
                swagger_css_url="/static/swagger-ui/swagger-ui.css",
                swagger_favicon_url="/static/swagger-ui/favicon-32x32.png",
                # No badge from validator.swagger.io (it is asked for off localhost).
                swagger_ui_parameters={"validatorUrl": None},
            )
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _self_only(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{title} - ReDoc",
                redoc_js_url="/static/redoc/redoc.standalone.js",
                redoc_favicon_url="/static/swagger-ui/favicon-32x32.png",
                with_google_fonts=False,
            )
        )


def _self_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page
