"""`/admin`: operations for the admin role only."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import QUERY_REFUSED, AdminUser, SessionDep, SettingsDep, single_valued_query
from app.api.errors import error_responses
from app.auth.schemas import UserRead
from app.auth.service import AuthService

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get(
    "/users",
    summary="List users",
    response_model=list[UserRead],
    dependencies=[single_valued_query(caller=AdminUser)],
    responses={**error_responses(401, 403, 503), **QUERY_REFUSED},
)
async def list_users(_: AdminUser, session: SessionDep, settings: SettingsDep) -> list[UserRead]:
    """Every user with role, active flag and teams, ordered by e-mail. Admin only (403 for members).
    Users are managed with the CLI: `jobcost users create`, `set-teams`, `deactivate` and `activate`."""
    users = await AuthService(session, settings).list_users()
    return [UserRead.model_validate(u) for u in users]
