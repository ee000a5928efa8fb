"""The console parts the routes are handed: the call scripts in use (loaded once at start by
app/wiring.py; a refused file is on /api/status)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.console.call_scripts.catalog import Catalog


def the_catalog(request: HTTPConnection) -> Catalog:
    return cast(Catalog, request.app.state.parts.catalog)


CatalogDep = Annotated[Catalog, Depends(the_catalog)]
