"""A deactivated member reads nothing: the token it holds is refused (401 with the Bearer challenge) on every read
endpoint, it cannot sign in again, and a correctly signed token of the current generation does not help either.
Other members are unaffected."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.service import AuthService
from app.core.security import create_access_token
from app.db.models import User
from tests.access.conftest import ANA, API, BEN, BY_MODEL, BY_TEAM, JOBS, Matrix, email
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.factories import create_user, login

READS = (JOBS, f"{JOBS}/nlp-001", f"{JOBS}/vision-001", BY_TEAM, BY_MODEL, f"{API}/prices", f"{API}/auth/me",
         f"{JOBS}?team=nlp", f"{BY_TEAM}?team=nlp")


async def test_a_deactivated_members_token_is_refused_on_every_read(client, matrix: Matrix, sessionmaker,
                                                                     settings) -> None:
    ana = matrix.headers[ANA]
    assert (await client.get(JOBS, headers=ana)).json()["total"] == 3  # the token works before

    async with sessionmaker() as session:
        await AuthService(session, settings).set_active(email(ANA), False)
        await session.commit()

    for path in READS:
        response = await client.get(path, headers=ana)
        assert response.status_code == 401, (path, response.text)
        assert_unauthenticated(response)
    assert_problem(await login(client, email(ANA)), 401, "invalid-credentials")
    # Another member, and the admin, still read as before.
    assert (await client.get(JOBS, headers=matrix.headers[BEN])).json()["total"] == 2
    assert (await client.get(f"{JOBS}/nlp-001", headers=matrix.headers["admin"])).status_code == 200


async def test_a_fresh_token_of_an_inactive_member_is_refused(client, sessionmaker, settings) -> None:
    """Created inactive (`active=False`), so it cannot sign in; a token forged with the right key and the user's
    current token generation is still refused, because the user is inactive."""
    await create_user(sessionmaker, settings, "gone@access.test", teams=["nlp"], active=False)
    assert_problem(await login(client, "gone@access.test"), 401, "invalid-credentials")
    async with sessionmaker() as session:
        user = (await session.execute(select(User).where(User.email == "gone@access.test"))).scalar_one()
    token = create_access_token(user.id, secret=settings.secret_key.get_secret_value(), minutes=5,
                                generation=user.token_generation)
    headers = {"Authorization": f"Bearer {token}"}
    # The same kind of token for an active member is accepted: the refusal below is the inactive flag's doing.
    live = await create_user(sessionmaker, settings, "live@access.test", teams=["nlp"])
    live_token = create_access_token(live.id, secret=settings.secret_key.get_secret_value(), minutes=5,
                                     generation=live.token_generation)
    assert (await client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {live_token}"})).status_code == 200

    for path in READS:
        response = await client.get(path, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert_unauthenticated(response)
