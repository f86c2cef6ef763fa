"""`jobcost ingest` without a database: `--dry-run`, the options it refuses (exit 2), and what it says when the
service fails midway, is unreachable or refuses a request (exit 3), against a scripted HTTP service
(`httpx.MockTransport`) whose requests the tests read back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.ingestion import cli_send
from tests.cli.helpers import invoke
from tests.walk.live import free_port

CSV = """job_id,team,status,started_at,ended_at
a1,ml,succeeded,2026-01-14 08:00,2026-01-14 09:00
a2,ml,succeeded,2026-01-14 08:00,2026-01-14 07:00
a3,ml,queued,,
a4,ml,pending,,
"""
Handler = Callable[[httpx.Request, int], httpx.Response]


def report(received: int, created: int = 0, failed: int = 0, errors: list[dict[str, Any]] | None = None,
           errors_omitted: int = 0) -> dict[str, Any]:
    return {"received": received, "created": created, "updated": 0, "unchanged": 0, "superseded": 0,
            "failed": failed, "teams_created": 0, "errors": errors or [], "errors_omitted": errors_omitted}


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Callable[[Handler], list[httpx.Request]]:
    """Install a scripted service: `handler(request, n)` answers the n-th request; returns the requests seen."""

    def install(handler: Handler) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return handler(request, len(seen))

        @asynccontextmanager
        async def open_client(url: str, request_timeout_s: float) -> AsyncIterator[httpx.AsyncClient]:
            async with httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url=url) as client:
                yield client

        monkeypatch.setattr(cli_send, "open_client", open_client)
        return seen

    return install


def lines_sent(request: httpx.Request) -> list[dict[str, Any]]:
    return [json.loads(text) for text in request.content.decode().splitlines()]


# --- dry run ---

def test_a_dry_run_validates_locally_shows_the_first_records_and_sends_nothing(export: Path, scripted) -> None:
    seen = scripted(lambda request, n: httpx.Response(500))

    result = invoke("ingest", str(export), "--format", "csv", "--dry-run", "--tz", "Asia/Kolkata")

    # Kolkata is UTC+05:30 all year: 08:00 local is 02:30Z. a2 ends before it starts; a1, a3, a4 are valid.
    assert result.exit_code == 1, result.output
    stdout = result.stdout
    assert ('line 2: {"job_id": "a1", "team": "ml", "status": "succeeded", "started_at": "2026-01-14T02:30:00Z", '
            '"ended_at": "2026-01-14T03:30:00Z"}') in stdout
    assert 'line 4: {"job_id": "a3", "team": "ml", "status": "queued"}' in stdout
    assert "line 5:" not in stdout  # the first 3 records only
    assert "(csv): 4 rows: 4 mapped, 0 folded, 0 skipped" in stdout
    assert "note: timestamps without an offset read as wall-clock times in Asia/Kolkata (--tz)" in stdout
    assert "dry run, nothing sent: 3 valid, 1 would be refused" in stdout
    assert "line 3 job_id 'a2': ended_at: is before started_at" in stdout
    assert seen == []


def test_a_clean_dry_run_from_standard_input_exits_0(scripted) -> None:
    seen = scripted(lambda request, n: httpx.Response(500))
    text = '{"id": 1, "team": "ml", "status": "queued"}\n\n{"id": 2, "team": "ml", "status": "queued"}\n'

    result = invoke("ingest", "-", "--format", "ndjson", "--map", "job_id=id", "--dry-run", input=text)

    assert result.exit_code == 0, result.output
    assert "read standard input (ndjson): 2 rows: 2 mapped, 0 folded, 0 skipped" in result.stdout
    assert "dry run, nothing sent: 2 valid, 0 would be refused" in result.stdout
    assert seen == []


def test_a_dry_run_names_the_gpu_type_each_job_is_stored_under(scripted) -> None:
    seen = scripted(lambda request, n: httpx.Response(500))
    text = ("job_id,team,status,gpu_type\n"
            "g1,ml,queued,H100\ng2,ml,queued, h100\ng3,ml,queued,nvidia.com/mig-3g.40gb\n"
            "g4,ml,queued,gres/gpu:a100_1g.5gb\ng5,ml,queued,\ng6,ml,sleeping,h100\n")

    result = invoke("ingest", "-", "--format", "csv", "--dry-run", input=text)

    # Valid jobs only (g6's status is refused); g5 has no type. H100 is stored as sent, so it stands alone;
    # mig-3g.40gb names no GPU, so its profile's first parent, the A100 80GB (docs/importers/mig.md); the
    # Slurm family a100 with 1g.5gb is the A100 40GB. Most jobs first, then by name as sent.
    assert result.exit_code == 1, result.output
    assert ("  gpu_type as the service stores it: H100 (1 job); gres/gpu:a100_1g.5gb → A100-40GB-MIG-1G.5GB "
            "(1 job); h100 → H100 (1 job); nvidia.com/mig-3g.40gb → A100-80GB-MIG-3G.40GB (1 job)\n") in result.stdout
    assert seen == []


def test_a_dry_run_shows_the_first_twelve_gpu_types_and_counts_the_rest() -> None:
    rows = "".join(f"t{n},ml,queued,X{n:02}\n" for n in range(14)) + "t14,ml,queued,X00\n"

    result = invoke("ingest", "-", "--format", "csv", "--dry-run", input="job_id,team,status,gpu_type\n" + rows)

    # X00 has two jobs, so it comes first; then X01 … X11 by name; X12 and X13 are the 2 more.
    assert result.exit_code == 0, result.output
    shown = "; ".join(["X00 (2 jobs)", *(f"X{n:02} (1 job)" for n in range(1, 12))])
    assert f"  gpu_type as the service stores it: {shown}; and 2 more\n" in result.stdout


def test_a_file_of_one_row_is_read_as_1_row() -> None:
    result = invoke("ingest", "-", "--format", "ndjson", "--dry-run",
                    input='{"job_id": "one", "team": "ml", "status": "queued"}\n')

    assert result.exit_code == 0, result.output
    assert "read standard input (ndjson): 1 row: 1 mapped, 0 folded, 0 skipped" in result.stdout


# --- usage errors: exit 2, nothing sent ---

@pytest.mark.parametrize(("args", "message"), [
    (["--token", "t", "--tz", "Mars/Olympus"], "--tz: unknown time zone 'Mars/Olympus'"),
    (["--token", "t", "--epoch", "2026-01-01T00:00:00"], "--epoch '2026-01-01T00:00:00': must be an RFC 3339"),
    (["--token", "t", "--map", "job_id"], "--map 'job_id': write FIELD=COLUMN"),
    (["--token", "t", "--map", "jobid=x"], "--map jobid=x: 'jobid' is not a job field"),
    (["--token", "t", "--map", "user=Owner"], "--map user=Owner: no column 'Owner' in the header"),
    (["--token", "t", "--fields", "a,,b"], "--fields 'a,,b': a column name is empty"),
    (["--token", "t", "--gpu-type", " "], "--gpu-type: the GPU type is empty"),
    (["--token", "t", "--gpu-type", "V100", "--map", "gpu_type=team"],
     "--gpu-type 'V100' and --map gpu_type=team both give gpu_type: keep one"),
    (["--token", "t", "--map", "team=team", "--map", "team=status"],
     "--map team=team and --map team=status: team is given twice; keep one"),
    (["--token", "t", "--map", " labels.x=team", "--map", "labels.x=team"],
     "--map  labels.x=team and --map labels.x=team: labels.x is given twice; keep one"),
    (["--token", "t", "--team", "x", "--team-from", "team"], "--team 'x' and --team-from team both give team"),
    ([], "--token (or JOBCOST_TOKEN) is required to send jobs"),
])
def test_usage_errors_exit_2_and_send_nothing(export: Path, scripted, args: list[str], message: str) -> None:
    seen = scripted(lambda request, n: httpx.Response(500))

    result = invoke("ingest", str(export), "--format", "csv", *args)

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert seen == []


def test_map_file_problems_exit_2(export: Path, tmp_path: Path) -> None:
    bad_toml, extra, not_text = tmp_path / "bad.toml", tmp_path / "extra.toml", tmp_path / "number.toml"
    bad_toml.write_text("[map\n", encoding="utf-8")
    extra.write_text('team = "x"\n[map]\njob_id = "id"\n', encoding="utf-8")
    not_text.write_text("[map]\njob_id = 3\n", encoding="utf-8")
    twice = tmp_path / "twice.toml"
    twice.write_text('[map]\n"labels.p" = "team"\n[map.labels]\np = "status"\n', encoding="utf-8")

    for path, message in ((bad_toml, "not valid TOML"), (extra, "it must hold one [map] table"),
                          (not_text, "job_id must be a column name in quotes"),
                          (twice, 'labels.p is given twice (as "labels.p" in [map] and in [map.labels]); keep one'),
                          (tmp_path / "absent.toml", "cannot read it")):
        result = invoke("ingest", str(export), "--format", "csv", "--dry-run", "--map-file", str(path))
        assert result.exit_code == 2, result.output
        assert f"--map-file {path}: {message}" in result.stderr


def test_an_unknown_format_a_missing_file_and_a_file_that_is_not_utf8(export: Path, tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("job_id,team,status\nj1,équipe,queued\n".encode("latin-1"))

    unknown = invoke("ingest", str(export), "--format", "sacct", "--dry-run")
    missing = invoke("ingest", str(tmp_path / "absent.csv"), "--format", "csv", "--dry-run")
    not_utf8 = invoke("ingest", str(latin1), "--format", "csv", "--dry-run")

    assert unknown.exit_code == 2 and "--format" in unknown.output
    assert missing.exit_code == 2 and f"cannot read {tmp_path / 'absent.csv'}: No such file" in missing.stderr
    assert not_utf8.exit_code == 2, not_utf8.output
    assert f"{latin1} is not UTF-8 text" in not_utf8.stderr and "Nothing was sent." in not_utf8.stderr


# --- the service stops the run: exit 3 ---

def test_a_service_failure_midway_says_what_was_already_sent(export: Path, scripted) -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            # The service refuses the request's line 2: a2, line 3 of the file.
            return httpx.Response(200, json=report(2, created=1, failed=1, errors=[
                {"index": 2, "job_id": "a2", "field": "ended_at", "message": "is before started_at"}]))
        return httpx.Response(503, headers={"Retry-After": "10"}, json={
            "type": "https://jobcost.dev/problems/database-busy", "title": "Service unavailable", "status": 503,
            "detail": "The database is busy with another write; try again shortly"})

    seen = scripted(handler)

    result = invoke("ingest", str(export), "--format", "csv", "--chunk-size", "2", "--token", "tok-1")

    assert result.exit_code == 3, result.output
    assert [r.url.path for r in seen] == ["/api/v1/admin/ingest/jobs"] * 2
    assert seen[0].headers["authorization"] == "Bearer tok-1"
    assert seen[0].headers["content-type"] == "application/x-ndjson"
    assert [r["job_id"] for r in lines_sent(seen[0])] == ["a1", "a2"]
    assert lines_sent(seen[1]) == [{"job_id": "a3", "team": "ml", "status": "queued"},
                                   {"job_id": "a4", "team": "ml", "status": "pending"}]
    assert "sent 2 jobs in 1 request: 1 created, 0 updated, 0 unchanged, 0 superseded, 1 refused" in result.stdout
    assert "line 3 job_id 'a2': ended_at: is before started_at" in result.stdout
    assert ("error: HTTP 503 from the service: the service failed; it asks to retry after 10 s (The database is "
            "busy with another write; try again shortly). Before it, 2 jobs (source lines up to 3) were sent and "
            "stored") in result.stderr
    assert "Running the same command again is safe" in result.stderr


def test_a_413_suggests_a_smaller_chunk_size(export: Path, scripted) -> None:
    scripted(lambda request, n: httpx.Response(413, json={"detail": "The request body is over the limit of 16 MiB"}))

    result = invoke("ingest", str(export), "--format", "csv", "--token", "t")

    assert result.exit_code == 3, result.output
    assert ("HTTP 413 from the service: the request was too large: try a smaller --chunk-size (The request body "
            "is over the limit of 16 MiB). Nothing was sent before it.") in result.stderr


def test_an_unreachable_service_is_one_line(export: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    result = invoke("ingest", str(export), "--format", "csv", "--token", "t", "--url", url, "--timeout", "5")

    assert result.exit_code == 3, result.output
    assert f"error: cannot reach the service at {url}" in result.stderr
    assert "Nothing was sent before it." in result.stderr
    assert "Traceback" not in result.output


def test_refusals_past_the_ones_shown_are_counted(export: Path, scripted) -> None:
    many = [{"index": 1, "job_id": "a1", "field": f"f{n}", "message": "bad"} for n in range(25)]
    scripted(lambda request, n: httpx.Response(200, json=report(4, failed=4, errors=many, errors_omitted=7)))

    result = invoke("ingest", str(export), "--format", "csv", "--token", "t")

    # 20 reasons shown; the other 5 listed by the service and the 7 it omitted are counted.
    assert result.exit_code == 1, result.output
    assert result.stdout.count("line 2 job_id 'a1': f") == 20
    assert "… and 12 more reasons" in result.stdout


def test_a_token_with_spaces_or_odd_characters_is_refused_without_echoing_it(export: Path, scripted) -> None:
    sent = scripted(lambda request, n: httpx.Response(200, json=report(0)))
    secret = "eyJhbGciOi.secret part"
    result = invoke("ingest", str(export), "--format", "csv", "--token", secret)
    assert result.exit_code == 2, result.output
    assert "is not a token" in result.output and "secret" not in result.output
    assert sent == []


def test_a_token_read_from_a_crlf_file_is_trimmed(export: Path, scripted) -> None:
    sent = scripted(lambda request, n: httpx.Response(200, json=report(len(lines_sent(request)),
                                                                        created=len(lines_sent(request)))))
    result = invoke("ingest", str(export), "--format", "csv", "--token", "tok-1\r\n")
    assert sent and all(request.headers["authorization"] == "Bearer tok-1" for request in sent), result.output


def test_a_record_with_a_lone_surrogate_is_sent_escaped_so_only_it_is_refused() -> None:
    # UTF-8 cannot carry U+D800: unescaped, encoding the whole request failed and its good records were never sent.
    line = cli_send.json_line({"job_id": "a\ud800", "team": "t"})
    assert line == '{"job_id":"a\\ud800","team":"t"}'
    assert cli_send.json_line({"job_id": "é"}) == '{"job_id":"é"}'


# --- job ids repeated within a file ---

REPEATS = ("JobID,Task,team,status\n" + "".join(f"{job},{task},ml,queued\n"
                                                for job in ("7", "8", "9") for task in range(4)) + "10,,ml,queued\n")


def test_repeated_ids_are_warned_of_in_a_dry_run_and_a_joined_id_ends_them(tmp_path: Path, scripted) -> None:
    path = tmp_path / "tasks.csv"
    path.write_text(REPEATS, encoding="utf-8")
    seen = scripted(lambda request, n: httpx.Response(500))

    result = invoke("ingest", str(path), "--format", "csv", "--dry-run", "--map", "job_id=JobID")

    # 3 jobs × 4 tasks: 9 rows repeat an id of an earlier row (3 of each), 3 distinct ids.
    assert result.exit_code == 0, result.output
    assert ("warning: 9 rows repeat the job_id of an earlier row (3 distinct ids; '7' again at line 3; '8' again at "
            "line 7; '9' again at line 11): the service keeps one job per id, the last row's. If they are different "
            "jobs, build the id from several columns: --map job_id=COLUMN+COLUMN") in result.stdout
    assert seen == []

    result = invoke("ingest", str(path), "--format", "csv", "--dry-run", "--map", "job_id=JobID+Task")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stdout
    assert "line 2: {\"job_id\": \"7_0\"" in result.stdout


def test_repeated_ids_are_warned_of_in_the_final_report(tmp_path: Path, scripted) -> None:
    path = tmp_path / "tasks.csv"
    path.write_text(REPEATS, encoding="utf-8")
    seen = scripted(lambda request, n: httpx.Response(200, json={**report(13, created=4), "superseded": 9}))

    result = invoke("ingest", str(path), "--format", "csv", "--token", "t", "--map", "job_id=JobID")

    assert result.exit_code == 0, result.output
    assert len(seen) == 1
    assert "warning: 9 rows repeat the job_id of an earlier row (3 distinct ids;" in result.stdout
    assert "sent 13 jobs in 1 request: 4 created, 0 updated, 0 unchanged, 9 superseded, 0 refused" in result.stdout
