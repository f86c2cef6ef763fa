"""`jobcost users create | set-teams | deactivate | activate | list`, checked in the tables and through the real
sign-in."""

from __future__ import annotations

from tests.cli.helpers import (
    invoke,
    line_with,
    me,
    sign_in,
    stored_team_names,
    stored_users,
    team_names,
    token_for,
    with_api,
)
from tests.databases import ScratchDatabase

PASSWORD = "correct horse battery"


def _create(url: str, email: str, *extra: str, password: str = PASSWORD) -> None:
    result = invoke("users", "create", "--email", email, "--password", password, *extra, "--database-url", url)
    assert result.exit_code == 0, result.output


def test_create_stores_a_lower_cased_member_in_trimmed_teams(fresh_db: ScratchDatabase) -> None:
    result = invoke("users", "create", "--email", "Alice@Example.com", "--password", PASSWORD, "--role", "member",
                    "--team", "NLP", "--team", " vision ", "--database-url", fresh_db.url)

    assert result.exit_code == 0, result.output
    assert "created member alice@example.com" in result.stdout
    users = stored_users(fresh_db.url)
    assert list(users) == ["alice@example.com"]
    alice = users["alice@example.com"]
    assert (alice.role, alice.is_active, alice.teams) == ("member", True, ("NLP", "vision"))
    assert PASSWORD not in alice.hashed_password
    assert stored_team_names(fresh_db.url) == ["NLP", "vision"]


def test_create_reuses_a_team_whatever_its_case_and_spacing(fresh_db: ScratchDatabase) -> None:
    _create(fresh_db.url, "alice@example.com", "--team", "NLP", "--team", " vision ")

    _create(fresh_db.url, "bob@example.com", "--team", "nlp", "--team", "  VISION")

    # The first spelling stays the team's name.
    assert stored_team_names(fresh_db.url) == ["NLP", "vision"]
    assert stored_users(fresh_db.url)["bob@example.com"].teams == ("NLP", "vision")


def test_create_names_the_teams_it_had_to_create(fresh_db: ScratchDatabase) -> None:
    first = invoke("users", "create", "--email", "a@example.com", "--password", PASSWORD, "--team", "NLP Research",
                   "--database-url", fresh_db.url)
    assert "new team, with no jobs yet: NLP Research" in first.stdout, first.stdout

    # Known teams, in another case, are not new; a misspelt one is, and is named.
    second = invoke("users", "create", "--email", "b@example.com", "--password", PASSWORD, "--team", "nlp research",
                    "--team", "NLP Reserch", "--team", "Vision", "--database-url", fresh_db.url)
    assert second.exit_code == 0, second.output
    assert "new teams, with no jobs yet: NLP Reserch, Vision" in second.stdout, second.stdout

    third = invoke("users", "create", "--email", "c@example.com", "--password", PASSWORD, "--team", " VISION ",
                   "--database-url", fresh_db.url)
    assert "new team" not in third.stdout, third.stdout


def test_create_defaults_to_a_member_without_teams(fresh_db: ScratchDatabase) -> None:
    _create(fresh_db.url, "carol@example.com")

    carol = stored_users(fresh_db.url)["carol@example.com"]
    assert (carol.role, carol.teams) == ("member", ())
    assert stored_team_names(fresh_db.url) == []


def test_create_admin(fresh_db: ScratchDatabase) -> None:
    _create(fresh_db.url, "root@example.com", "--role", "admin")

    assert stored_users(fresh_db.url)["root@example.com"].role == "admin"
    response = me(fresh_db.url, token_for(fresh_db.url, "root@example.com", PASSWORD))
    assert response.json()["role"] == "admin"


def test_duplicate_email_in_any_case_is_refused_and_changes_nothing(fresh_db: ScratchDatabase) -> None:
    _create(fresh_db.url, "alice@example.com", "--team", "NLP")
    before_users, before_teams = stored_users(fresh_db.url), stored_team_names(fresh_db.url)

    result = invoke("users", "create", "--email", " ALICE@example.COM ", "--password", "another password",
                    "--role", "admin", "--team", "new-team", "--database-url", fresh_db.url)

    assert result.exit_code == 1, result.output
    assert "already exists" in result.stderr
    assert "alice@example.com" in result.stderr
    assert stored_users(fresh_db.url) == before_users
    assert stored_team_names(fresh_db.url) == before_teams


def test_password_shorter_than_eight_characters_is_refused(fresh_db: ScratchDatabase) -> None:
    result = invoke("users", "create", "--email", "dave@example.com", "--password", "7-chars",
                    "--team", "NLP", "--database-url", fresh_db.url)

    assert result.exit_code == 1, result.output
    assert "password must be 8 to 1024 characters long" in result.stderr
    assert stored_users(fresh_db.url) == {}
    assert stored_team_names(fresh_db.url) == []

    # Eight is enough: the rule is a bound, not an off-by-one.
    _create(fresh_db.url, "dave@example.com", password="8-chars!")
    assert sign_in(fresh_db.url, "dave@example.com", "8-chars!").status_code == 200


def test_bad_emails_are_refused(fresh_db: ScratchDatabase) -> None:
    for bad in ("not-an-email", "@example.com", "alice@", "al ice@example.com", ""):
        result = invoke("users", "create", "--email", bad, "--password", PASSWORD, "--database-url", fresh_db.url)

        assert result.exit_code == 1, (bad, result.output)
        assert "not an e-mail address" in result.stderr, bad
    assert stored_users(fresh_db.url) == {}


def test_an_unknown_role_is_a_usage_error(fresh_db: ScratchDatabase) -> None:
    result = invoke("users", "create", "--email", "eve@example.com", "--password", PASSWORD, "--role", "owner",
                    "--database-url", fresh_db.url)

    assert result.exit_code == 2
    assert "--role" in result.output
    assert stored_users(fresh_db.url) == {}


def test_password_is_prompted_for_twice_when_omitted(fresh_db: ScratchDatabase) -> None:
    result = invoke("users", "create", "--email", "frank@example.com", "--database-url", fresh_db.url,
                    input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert sign_in(fresh_db.url, "frank@example.com", PASSWORD).status_code == 200


def test_created_user_signs_in_and_sees_its_teams(fresh_db: ScratchDatabase) -> None:
    _create(fresh_db.url, "Alice@Example.com", "--team", "NLP", "--team", " vision ")

    token = token_for(fresh_db.url, "alice@example.com", PASSWORD)
    response = me(fresh_db.url, token)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["email"], body["role"]) == ("alice@example.com", "member")
    assert team_names(body["teams"]) == ["NLP", "vision"]
    assert sign_in(fresh_db.url, "alice@example.com", "wrong password").status_code == 401


def test_deactivate_stops_sign_in_and_existing_tokens_and_activate_restores_sign_in(
    fresh_db: ScratchDatabase,
) -> None:
    _create(fresh_db.url, "alice@example.com", "--team", "NLP")
    token = token_for(fresh_db.url, "alice@example.com", PASSWORD)
    assert me(fresh_db.url, token).status_code == 200

    result = invoke("users", "deactivate", "--email", "ALICE@example.com", "--database-url", fresh_db.url)

    assert result.exit_code == 0, result.output
    assert "deactivated alice@example.com" in result.stdout
    assert stored_users(fresh_db.url)["alice@example.com"].is_active is False
    assert sign_in(fresh_db.url, "alice@example.com", PASSWORD).status_code == 401
    assert me(fresh_db.url, token).status_code == 401

    result = invoke("users", "activate", "--email", "alice@example.com", "--database-url", fresh_db.url)

    assert result.exit_code == 0, result.output
    assert "activated alice@example.com" in result.stdout
    assert stored_users(fresh_db.url)["alice@example.com"].is_active is True
    fresh_token = token_for(fresh_db.url, "alice@example.com", PASSWORD)
    assert me(fresh_db.url, fresh_token).status_code == 200


def test_deactivate_and_activate_an_unknown_email_fail(fresh_db: ScratchDatabase) -> None:
    _create(fresh_db.url, "alice@example.com")
    before = stored_users(fresh_db.url)

    for command in ("deactivate", "activate"):
        result = invoke("users", command, "--email", "nobody@example.com", "--database-url", fresh_db.url)

        assert result.exit_code == 1, result.output
        assert "no user with e-mail nobody@example.com" in result.stderr
    assert stored_users(fresh_db.url) == before


def test_list_shows_every_user_with_role_state_and_teams(fresh_db: ScratchDatabase) -> None:
    _create(fresh_db.url, "carol@example.com", "--team", "NLP")
    _create(fresh_db.url, "alice@example.com", "--team", "NLP", "--team", "vision")
    _create(fresh_db.url, "bob@example.com", "--role", "admin")
    assert invoke("users", "deactivate", "--email", "carol@example.com", "--database-url", fresh_db.url).exit_code == 0

    result = invoke("users", "list", "--database-url", fresh_db.url)

    assert result.exit_code == 0, result.output
    out = result.stdout
    alice, bob, carol = (line_with(out, f"{name}@example.com") for name in ("alice", "bob", "carol"))
    assert "member" in alice and "yes" in alice and "NLP, vision" in alice
    assert "admin" in bob and "yes" in bob and "NLP" not in bob
    assert "member" in carol and "no" in carol.split() and "NLP" in carol
    assert out.index("alice@") < out.index("bob@") < out.index("carol@")


def test_names_that_look_like_console_markup_are_printed_verbatim(fresh_db: ScratchDatabase) -> None:
    # Team names also arrive through ingest; a "[/x]" once made rich raise after the user had been committed.
    result = invoke("users", "create", "--email", "mallory@example.com", "--password", PASSWORD,
                    "--team", "[/x]", "--team", "[bold]", "--database-url", fresh_db.url)

    assert result.exit_code == 0, result.output
    assert "[/x]" in result.stdout and "[bold]" in result.stdout
    assert stored_team_names(fresh_db.url) == ["[/x]", "[bold]"]

    listing = invoke("users", "list", "--database-url", fresh_db.url)
    assert listing.exit_code == 0, listing.output
    assert "[/x]" in listing.stdout and "[bold]" in listing.stdout

    refused = invoke("users", "create", "--email", "[/x]", "--password", PASSWORD, "--database-url", fresh_db.url)
    assert refused.exit_code == 1, refused.output
    assert "not an e-mail address: '[/x]'" in refused.stderr


def _jobs_seen(url: str, token: str) -> list[str]:
    """The job ids the token's user can list (one page is enough here)."""
    async def work(client) -> list[str]:  # noqa: ANN001
        response = await client.get("/api/v1/jobs", params={"limit": 100},
                                    headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return sorted(j["job_id"] for j in response.json()["jobs"])
    return with_api(url, work)


def test_set_teams_replaces_a_users_teams_and_its_token_reads_the_new_ones(fresh_db: ScratchDatabase) -> None:
    _create(fresh_db.url, "root@example.com", "--role", "admin")
    admin = token_for(fresh_db.url, "root@example.com", PASSWORD)

    async def ingest(client) -> None:  # noqa: ANN001
        jobs = [{"job_id": f"{team}-1", "team": team, "status": "succeeded", "started_at": "2026-01-05T10:00:00Z",
                 "ended_at": "2026-01-05T11:00:00Z", "cost": "1.00"} for team in ("Audio", "Speech", "Vision")]
        response = await client.post("/api/v1/admin/ingest/jobs", json={"jobs": jobs},
                                     headers={"Authorization": f"Bearer {admin}"})
        assert response.status_code == 200 and response.json()["created"] == 3, response.text
    with_api(fresh_db.url, ingest)
    _create(fresh_db.url, "ana@example.com", "--team", "Audio")
    token = token_for(fresh_db.url, "ana@example.com", PASSWORD)
    assert _jobs_seen(fresh_db.url, token) == ["Audio-1"]

    result = invoke("users", "set-teams", "--email", "Ana@example.com", "--team", "speech", "--team", "VISION",
                    "--database-url", fresh_db.url)

    assert result.exit_code == 0, result.output
    assert "ana@example.com (member) now belongs to Speech, Vision" in result.stdout
    assert "new team" not in result.stdout
    assert stored_users(fresh_db.url)["ana@example.com"].teams == ("Speech", "Vision")
    assert _jobs_seen(fresh_db.url, token) == ["Speech-1", "Vision-1"]  # the same token, the new teams

    result = invoke("users", "set-teams", "--email", "ana@example.com", "--database-url", fresh_db.url)
    assert result.exit_code == 0, result.output
    assert "now belongs to no team" in result.stdout
    assert _jobs_seen(fresh_db.url, token) == []


def test_set_teams_names_new_teams_and_refuses_an_unknown_email(fresh_db: ScratchDatabase) -> None:
    _create(fresh_db.url, "ana@example.com", "--team", "Audio")

    result = invoke("users", "set-teams", "--email", "ana@example.com", "--team", "Audoi",
                    "--database-url", fresh_db.url)
    assert "new team, with no jobs yet: Audoi" in result.stdout, result.stdout

    before = stored_users(fresh_db.url)
    result = invoke("users", "set-teams", "--email", "nobody@example.com", "--team", "Audio",
                    "--database-url", fresh_db.url)
    assert result.exit_code == 1, result.output
    assert "no user with e-mail nobody@example.com" in result.stderr
    assert stored_users(fresh_db.url) == before
