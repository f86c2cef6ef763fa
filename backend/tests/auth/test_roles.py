"""Roles and what a signed-in user sees of itself and others. Relationships are `lazy="raise"`, so a 200 with
teams filled in proves they were loaded explicitly, not by implicit IO while serialising (F24)."""

from __future__ import annotations

import uuid

from app.db.models import Role
from tests.api.problems import assert_problem, assert_unauthenticated
from tests.factories import bearer

USERS = "/api/v1/admin/users"
ME = "/api/v1/auth/me"


async def test_a_member_is_forbidden_from_admin_routes(client, make_user) -> None:
    await make_user("member@example.test", teams=["nlp"])

    response = await client.get(USERS, headers=await bearer(client, "member@example.test"))

    body = assert_problem(response, 403, "forbidden")
    assert "admin" in body["detail"]
    assert "www-authenticate" not in response.headers


async def test_admin_routes_need_a_token_before_a_role(client) -> None:
    assert_unauthenticated(await client.get(USERS))


async def test_an_admin_lists_every_user_with_role_state_and_teams(client, make_user) -> None:
    admin = await make_user("root@example.test", role=Role.admin, teams=["Ops"])
    member = await make_user("member@example.test", teams=["Vision", "NLP"])
    # Same team as "NLP" after trimming and case folding: one team, first spelling kept.
    other = await make_user("other@example.test", teams=[" nlp "])
    gone = await make_user("zz-gone@example.test", active=False)

    response = await client.get(USERS, headers=await bearer(client, "root@example.test"))

    assert response.status_code == 200, response.text
    users = response.json()
    assert [u["email"] for u in users] == [
        "member@example.test", "other@example.test", "root@example.test", "zz-gone@example.test"]
    by_email = {u["email"]: u for u in users}
    for user in users:
        assert set(user) == {"id", "email", "role", "is_active", "teams"}
        for team in user["teams"]:
            assert set(team) == {"id", "name"}
            uuid.UUID(team["id"])
    assert by_email["root@example.test"]["id"] == str(admin.id)
    assert by_email["root@example.test"]["role"] == "admin"
    assert [t["name"] for t in by_email["root@example.test"]["teams"]] == ["Ops"]
    assert by_email["member@example.test"]["id"] == str(member.id)
    assert by_email["member@example.test"]["role"] == "member"
    assert [t["name"] for t in by_email["member@example.test"]["teams"]] == ["NLP", "Vision"]
    assert by_email["other@example.test"]["id"] == str(other.id)
    assert by_email["other@example.test"]["teams"] == [by_email["member@example.test"]["teams"][0]]
    assert by_email["zz-gone@example.test"]["id"] == str(gone.id)
    assert by_email["zz-gone@example.test"]["is_active"] is False
    assert by_email["zz-gone@example.test"]["teams"] == []
    assert all(u["is_active"] for e, u in by_email.items() if e != "zz-gone@example.test")
    assert "argon2" not in response.text and "password" not in response.text


async def test_me_shows_the_callers_own_teams(client, make_user) -> None:
    member = await make_user("member@example.test", teams=["vision", "NLP"])

    response = await client.get(ME, headers=await bearer(client, "member@example.test"))

    assert response.status_code == 200, response.text
    me = response.json()
    assert me["id"] == str(member.id)
    assert me["email"] == "member@example.test"
    assert me["role"] == "member"
    assert [t["name"] for t in me["teams"]] == ["NLP", "vision"]
    assert {t["id"] for t in me["teams"]} == {str(t.id) for t in member.teams}
