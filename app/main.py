"""The FastAPI application. ``create_app(settings)`` is what the CLI and the tests call;
nothing is built at import time (the lifespan in app/wiring.py does it)."""

from __future__ import annotations

from fastapi import FastAPI

from app import __version__
from app.api import ws
from app.api.routes import auth, calls, health, status
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
    for router in (auth.router, calls.router, status.router, health.router, ws.router):
        app.include_router(router)
    return app
