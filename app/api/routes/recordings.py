"""A call's recording, streamed with HTTP range requests so that the player can seek.

An <audio> element cannot send an Authorization header, so the token may also come in the
query string, as for the WebSocket; the role and call checks are the same as for the call.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import FileResponse

from app.api.deps import (
    CallPk,
    ServicesDep,
    SessionDep,
    bearer_token,
    user_from_token,
    viewer_of,
)
from app.recordings import media_type, recording_file
from app.services.calls import recording_of

router = APIRouter(prefix="/api", tags=["calls"])



@router.get(
    "/calls/{call_pk}/recording",
    summary="The call's recording (HTTP Range supported)",
    response_class=FileResponse,
    responses={206: {"description": "a byte range of the recording"}},
)
def recording(
    call_pk: CallPk,
    services: ServicesDep,
    session: SessionDep,
    header_token: Annotated[str | None, Depends(bearer_token)],
    token: Annotated[str | None, Query(description="for <audio src>: the bearer token")] = None,
) -> FileResponse:
    user = user_from_token(services, session, header_token or token)
    name = recording_of(session, call_pk, viewer_of(user))
    if name is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this call has no recording")
    path = recording_file(services.settings.recordings_dir, name)
    if path is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"the recording {name} is missing from the recordings folder",
        )
    return FileResponse(path, media_type=media_type(path), filename=path.name)
