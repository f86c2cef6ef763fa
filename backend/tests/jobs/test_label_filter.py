"""The `label=KEY:VALUE` filter of `GET /jobs`: repeatable, values of one key are alternatives (OR), different keys
must all match (AND), on both databases (labels are a JSON column); a malformed one is a 422 naming `label`; a
member still sees only its teams' jobs. Expected answers are picked here from the ingested labels by hand."""

from __future__ import annotations

import pytest

from app.db.models import Role
from tests.api.problems import assert_problem
from tests.factories import bearer, create_user
from tests.ingestion.conftest import ingest_ok, job
from tests.jobs.conftest import ids, list_jobs, list_ok

LABELS = {
    "a": {"project": "assistant", "stage": "sft"},
    "b": {"project": "assistant", "stage": "dpo"},
    "c": {"project": "search", "stage": "sft"},
    "d": {"project": "assistant"},
    "e": {"url": "http://x:1/y", "we.ird\"key": "v"},
    "f": {},
}


@pytest.fixture
async def labelled(client, admin_headers) -> None:
    await ingest_ok(client, admin_headers, [job(i, labels=labels, team="secret" if i == "d" else "vision")
                                            for i, labels in LABELS.items()])


async def labelled_ids(client, headers, *labels: str) -> list[str]:  # noqa: ANN001
    body = await list_ok(client, headers, [("label", label) for label in labels])
    assert body["total"] == len(body["jobs"])
    return sorted(ids(body))


async def test_one_label_matches_its_exact_value(client, admin_headers, labelled) -> None:
    assert await labelled_ids(client, admin_headers, "project:assistant") == ["a", "b", "d"]
    assert await labelled_ids(client, admin_headers, "stage:sft") == ["a", "c"]
    assert await labelled_ids(client, admin_headers, "stage:SFT") == []
    assert await labelled_ids(client, admin_headers, "nope:sft") == []


async def test_values_of_one_key_are_alternatives_and_keys_must_all_match(client, admin_headers, labelled) -> None:
    assert await labelled_ids(client, admin_headers, "stage:sft", "stage:dpo") == ["a", "b", "c"]
    assert await labelled_ids(client, admin_headers, "project:assistant", "stage:sft") == ["a"]
    assert await labelled_ids(client, admin_headers, "project:assistant", "stage:sft", "stage:dpo") == ["a", "b"]
    assert await labelled_ids(client, admin_headers, "project:search", "stage:dpo") == []


async def test_the_value_is_everything_after_the_first_colon_and_any_key_works(
        client, admin_headers, labelled) -> None:
    assert await labelled_ids(client, admin_headers, "url:http://x:1/y") == ["e"]
    assert await labelled_ids(client, admin_headers, 'we.ird"key:v') == ["e"]
    assert await labelled_ids(client, admin_headers, "  project :assistant") == ["a", "b", "d"]  # key trimmed


async def test_labels_combine_with_the_other_filters(client, admin_headers, labelled) -> None:
    assert await labelled_ids(client, admin_headers, "project:assistant") == ["a", "b", "d"]
    body = await list_ok(client, admin_headers, [("label", "project:assistant"), ("team", "vision")])
    assert sorted(ids(body)) == ["a", "b"]


@pytest.mark.parametrize("bad", ["assistant", ":assistant", "   :x", "k:" + "v" * 1025, "\x01:v"])
async def test_a_malformed_label_is_a_422_naming_label(client, admin_headers, bad) -> None:
    body = assert_problem(await list_jobs(client, admin_headers, {"label": bad}), 422, "validation-error")
    assert [e["loc"][:2] for e in body["errors"]] == [["query", "label"]], body


async def test_a_member_filtering_by_label_sees_only_its_teams(
        client, admin_headers, sessionmaker, settings, labelled) -> None:
    await create_user(sessionmaker, settings, "labels@example.test", role=Role.member, teams=["vision"])
    member = await bearer(client, "labels@example.test")
    assert await labelled_ids(client, member, "project:assistant") == ["a", "b"]  # not d, of team secret
