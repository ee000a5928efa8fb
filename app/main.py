"""The FastAPI application. ``create_app(settings)`` is what the CLI and the tests call;
nothing is built at import time (the lifespan in app/wiring.py does it)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.api import ws
from app.api.routes import (
    auth,
    callbacks,
    calls,
    complaints,
    console,
    health,
    incidents,
    lines,
    recordings,
    scores,
    shift_checks,
    status,
)
from app.settings import Settings
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
        auth, calls, recordings, complaints, scores, console, shift_checks, status, health, ws,
        callbacks, incidents, lines,
    )
    for module in routers:
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/agent/")

    # The pages are public (they log in through the API); last, so the API routes win.
    app.mount("/", StaticFiles(directory=settings.frontend_dir, html=True, check_dir=False))
    return app
