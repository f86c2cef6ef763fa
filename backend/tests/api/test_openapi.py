"""The OpenAPI document is the contract clients are generated from: it must name the bearer scheme, summarise
every operation and document the errors the app really sends, as problem+json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture
async def spec(bare_client: httpx.AsyncClient) -> dict[str, Any]:
    response = await bare_client.get("/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


def _operations(spec: dict[str, Any], prefix: str = "") -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, operation) for path, operations in spec["paths"].items() if path.startswith(prefix)
            for method, operation in operations.items()]


def test_the_document_is_titled_and_names_the_bearer_scheme(spec: dict[str, Any]) -> None:
    assert spec["info"]["title"] == "jobcost"
    schemes = spec["components"]["securitySchemes"]
    bearer = [name for name, scheme in schemes.items()
              if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer"]
    assert len(bearer) == 1, schemes


def test_every_api_operation_has_a_summary_and_documents_401(spec: dict[str, Any]) -> None:
    operations = _operations(spec, "/api/v1/")
    assert {(path, method) for path, method, _ in operations} >= {
        ("/api/v1/auth/token", "post"), ("/api/v1/auth/me", "get"), ("/api/v1/admin/users", "get")}
    for path, method, operation in operations:
        assert operation.get("summary"), (path, method)
        assert "401" in operation["responses"], (path, method)


def test_every_api_operation_has_exactly_one_tag(spec: dict[str, Any]) -> None:
    """One tag per operation: ReDoc lists an operation once per tag, so a tag given both by a router and by the
    router including it showed the webhooks' operations twice."""
    for path, method, operation in _operations(spec, "/api/v1/"):
        assert len(operation.get("tags", [])) == 1, (path, method, operation.get("tags"))


def test_sign_in_documents_401_and_422_and_needs_no_token(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/api/v1/auth/token"]["post"]

    assert {"200", "401", "422"} <= set(operation["responses"])
    assert "security" not in operation
    assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
    # Sign-in takes no bearer token, so its 401 must not be described as a token problem.
    assert "wrong password" in operation["responses"]["401"]["description"]


def test_every_other_api_operation_requires_the_bearer_token(spec: dict[str, Any]) -> None:
    (bearer,) = spec["components"]["securitySchemes"]
    for path, method, operation in _operations(spec, "/api/v1/"):
        if path == "/api/v1/auth/token":
            continue
        assert operation.get("security") == [{bearer: []}], (path, method)


def test_admin_operations_document_403(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec, "/api/v1/admin/"):
        assert "403" in operation["responses"], (path, method)


def test_health_probes_need_no_token_and_readiness_documents_503(spec: dict[str, Any]) -> None:
    assert "security" not in spec["paths"]["/health"]["get"]
    assert "security" not in spec["paths"]["/health/ready"]["get"]
    assert "503" in spec["paths"]["/health/ready"]["get"]["responses"]


def test_errors_are_documented_as_problem_json_only(spec: dict[str, Any]) -> None:
    # FastAPI's default 422 (`HTTPValidationError`, application/json) is a shape this app never sends.
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            where = (path, method, status)
            assert list(response["content"]) == ["application/problem+json"], where
            documented = response["content"]["application/problem+json"]
            assert documented["schema"] == PROBLEM_REF, where
            # The example shown on /docs must be a body of this very status, not one generic sample.
            assert documented["example"]["status"] == int(status), where
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_every_operation_has_a_description_and_an_example_of_its_answer(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        where = (path, method)
        assert len(operation.get("description", "")) > 40, where
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, where
        for status, response in successes.items():
            if status == "204":
                assert "content" not in response, where
                continue
            for media, documented in response["content"].items():  # e.g. the job list as text/csv
                if media != "application/json":
                    assert documented.get("example"), (*where, status, media, "no example")
            # A file or text only (the FOCUS export's CSV, GET /metrics' Prometheus text): its example checked above.
            if "application/json" not in response["content"]:
                continue
            schema = _resolve(spec, response["content"]["application/json"]["schema"])
            if schema.get("type") == "array":
                schema = _resolve(spec, schema["items"])
            assert schema.get("examples"), (*where, status, "the answer's schema carries no example")


def test_read_operations_document_their_errors(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    assert {"401", "403", "422", "503"} <= set(paths["/api/v1/jobs"]["get"]["responses"])
    assert {"401", "404", "422", "503"} <= set(paths["/api/v1/jobs/{job_id}"]["get"]["responses"])
    for path in ("/api/v1/analytics/cost/by-team", "/api/v1/analytics/cost/by-model"):
        assert {"401", "403", "422", "503"} <= set(paths[path]["get"]["responses"]), path
        parameters = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert parameters == {"start", "end", "team_id", "team"}, path


def test_amounts_are_documented_as_decimal_strings(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name, field in (("JobRead", "cost"), ("JobRead", "gpu_hours"), ("TeamCostReport", "total_cost"),
                        ("ModelCost", "unpriced_gpu_hours")):
        prop = schemas[name]["properties"][field]
        variants = prop.get("anyOf", [prop])
        assert {"type": "string"}.items() <= variants[0].items(), (name, field, prop)
        assert "number" not in str(prop), (name, field, prop)
