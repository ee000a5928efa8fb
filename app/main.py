"""The FastAPI application. ``create_app(settings)`` is what the CLI and the tests call;
nothing is built at import time (the lifespan in app/wiring.py does it)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.auth import api as auth_api
from app.callbacks import api as callbacks_api
from app.complaints import api as complaints_api
from app.console import api as console_api
from app.incidents import api as incidents_api
from app.lines import api as lines_api
from app.live import ws
from app.records import api as records_api
from app.review import api as review_api
from app.settings import Settings
from app.shift_checks import api as shift_checks_api
from app.status import api as status_api
from app.web.guards import RefuseNul, SecurityHeaders
from app.wiring import lifespan


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="callassist",
        version=__version__,
        summary="Call-handling assistant for Asterisk call centres",
        lifespan=lifespan,
        docs_url=None,  # the Swagger page loads its scripts from a CDN; the schema is local
        redoc_url=None,
    )
    app.state.settings = settings
    routers = (
        auth_api, records_api, complaints_api, review_api, console_api,
        shift_checks_api, status_api, ws, callbacks_api, incidents_api, lines_api,
    )
    for module in routers:
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/agent/")

    # The pages are public (they log in through the API); last, so the API routes win.
    app.mount("/", StaticFiles(directory=settings.frontend_dir, html=True, check_dir=False))
    app.add_middleware(RefuseNul)
    app.add_middleware(SecurityHeaders)
    return app
