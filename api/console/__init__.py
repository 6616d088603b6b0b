"""The regulator's console: a web page under ``/console/`` over the ``/v1/console`` reads.

Its files are the project's own (``api/console/static``) and the npm packages ``npm ci``
installs: ECharts draws the charts (its common build, two thirds the size, for the pages of
bars and lines; the full build for the risk page's heatmap and graph), ethers' keccak256 lets
the page check a batch record's Merkle proof itself. Nothing is loaded from any other host
(the page's Content-Security-Policy says so to the browser).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from ..docs_ui import CONTENT_SECURITY_POLICY, NODE_MODULES, check_assets

__all__ = ["ECHARTS_DIR", "ETHERS_DIR", "STATIC_DIR", "check_console_assets", "install_console"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
ECHARTS_DIR = NODE_MODULES / "echarts" / "dist"
ETHERS_DIR = NODE_MODULES / "ethers" / "dist"
REQUIRED = (
    STATIC_DIR / "index.html",
    STATIC_DIR / "console.js",
    STATIC_DIR / "console.css",
    ECHARTS_DIR / "echarts.min.js",
    ECHARTS_DIR / "echarts.common.min.js",
    ETHERS_DIR / "ethers.umd.min.js",
)


def check_console_assets() -> None:
    """Raise :class:`~api.docs_ui.DocsAssetsMissing` naming the first missing file."""
    check_assets(REQUIRED, "echarts and ethers, which /console/ serves")


def install_console(app: FastAPI) -> None:
    """Serve the console's page at ``/console/`` and its assets under ``/console/assets``."""
    check_console_assets()
    app.mount("/console/assets/echarts", StaticFiles(directory=ECHARTS_DIR), name="echarts")
    app.mount("/console/assets/ethers", StaticFiles(directory=ETHERS_DIR), name="ethers")
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")

    @app.get("/console", include_in_schema=False)
    async def console_redirect() -> RedirectResponse:
        return RedirectResponse("/console/")

    @app.get("/console/", include_in_schema=False)
    async def console_page() -> FileResponse:
        page = FileResponse(STATIC_DIR / "index.html", media_type="text/html")
        page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        page.headers["Cache-Control"] = "no-store"
        return page
