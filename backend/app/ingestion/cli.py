"""`jobcost ingest FILE --format FORMAT`: read an export with an importer and send its jobs to a jobcost service.

The file is read as it is sent: an importer (`app.ingestion.importers`) turns rows into job records, which go to
`POST /api/v1/admin/ingest/jobs` as NDJSON, `--chunk-size` records per request. The service answers each request
with a report whose error `index` is the line within that request's body; it is mapped back to the source file's
line here. `--dry-run` sends nothing: records are validated locally, by the rules the service applies.

Exit codes: 0 when every job sent was accepted, 1 when the service (or `--dry-run`) refused any (the good ones
are all sent regardless), 2 for a usage or configuration error (bad option, unreadable file or header; nothing
sent), 3 when the service could not be reached or refused a request (HTTP 401, 403, 413, 5xx, …): what was
already sent is said, and nothing more is sent.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
import tomllib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import IO, Annotated, Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import typer
from pydantic_core import PydanticCustomError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from app.ingestion.importers import FORMATS, ImporterConfigError, ImportOptions, MappedRow, Tally, importer_for
from app.ingestion.normalize import normalize_record, parse_instant
from app.pricing.catalog import default_catalog

INGEST_PATH = "/api/v1/admin/ingest/jobs"
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_CHUNK_SIZE = 10_000
MAX_CHUNK_SIZE = 100_000
ERRORS_SHOWN = 20
# What to do when a file's job ids repeat, by format.
REPEAT_HINTS = {
    "csv": "If they are different jobs, build the id from several columns: --map job_id=COLUMN+COLUMN (their "
           "values joined with '_'; docs/importers/csv-ndjson.md).",
    "slurm": "A requeued job exported with sacct --duplicates is listed once per run; for files of several "
             "clusters, give each its --cluster.",
    "focus": "FOCUS rows are keyed by their Id column; check the export.",
    "k8s-pods": "Pod names repeat across traces or clusters: give each file its --cluster.",
}
REPEAT_HINTS["ndjson"] = REPEAT_HINTS["csv"]
RECORDS_SHOWN = 3

console = Console()
err_console = Console(stderr=True)

Format = StrEnum("Format", {name: name for name in FORMATS})  # type: ignore[misc]


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    SERVICE = 3


def _fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(int(code))


# --- options ---------------------------------------------------------------------------------------------------

def parse_zone(name: str) -> tuple[tzinfo, str]:
    """An IANA zone name (`Europe/Paris`, `UTC`) as a tzinfo. Raises ValueError with a readable message."""
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"--tz: unknown time zone {name!r}; give an IANA name such as UTC, Europe/Paris or "
                         "America/New_York") from None


def parse_epoch(text: str) -> datetime:
    """An RFC 3339 instant with an offset, as aware UTC. Raises ValueError for a naive or malformed one."""
    try:
        return parse_instant(text)
    except PydanticCustomError as exc:
        raise ValueError(f"--epoch {text!r}: {exc} (a time without an offset is refused: its zone would be a "
                         "guess)") from None


def parse_fields(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise ValueError(f"--fields {text!r}: a column name is empty; give names separated by commas")
    return names


def parse_map_pairs(pairs: list[str]) -> dict[str, str]:
    """`["job_id=JobID", ...]` as {field: column}. Raises ValueError for a pair without `=`, or a FIELD named by
    two pairs (even with the same column: one of them is a slip, and silently keeping the last would hide it)."""
    mapping: dict[str, str] = {}
    given: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise ValueError(f"--map {pair!r}: write FIELD=COLUMN, e.g. --map job_id=JobID")
        field = target.strip()
        if field in given:
            raise ValueError(f"--map {given[field]} and --map {pair}: {field} is given twice; keep one")
        given[field] = pair
        mapping[field] = source.strip()
    return mapping


def read_map_file(path: Path) -> dict[str, str]:
    """A TOML map file: one `[map]` table of `FIELD = "COLUMN"`, labels as `"labels.KEY" = "COLUMN"` or in a
    `[map.labels]` table. Raises ValueError naming the file and the problem."""
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ValueError(f"--map-file {path}: cannot read it ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"--map-file {path}: not valid TOML ({exc})") from None
    extra = sorted(set(document) - {"map"})
    if extra or not isinstance(document.get("map"), dict):
        raise ValueError(f"--map-file {path}: it must hold one [map] table of FIELD = \"COLUMN\" lines"
                         + (f"; found {', '.join(extra)}" if extra else ""))
    mapping: dict[str, str] = {}
    for target, source in document["map"].items():
        if target == "labels" and isinstance(source, dict):
            entries = [(f"labels.{key}", value) for key, value in source.items()]
        else:
            entries = [(target, source)]
        for name, value in entries:
            if not isinstance(value, str):
                raise ValueError(f"--map-file {path}: {name} must be a column name in quotes")
            if name in mapping:
                raise ValueError(f"--map-file {path}: {name} is given twice (as \"{name}\" in [map] and in "
                                 "[map.labels]); keep one")
            mapping[name] = value
    return mapping


def build_options(*, cluster: str | None, team: str | None, team_from: str | None, model_from: str | None,
                  provider: str | None, tz: str, epoch: str | None, fields: str | None, pairs: list[str],
                  map_file: Path | None, gpu_type: str | None = None) -> ImportOptions:
    """ImportOptions from the command's options; `--map` pairs override the map file's. Raises ValueError."""
    zone, zone_name = (UTC, "UTC") if tz == "UTC" else parse_zone(tz)
    mapping = read_map_file(map_file) if map_file else {}
    mapping.update(parse_map_pairs(pairs))
    if gpu_type is not None and not gpu_type.strip():
        raise ValueError("--gpu-type: the GPU type is empty")
    return ImportOptions(cluster=cluster, team=team, team_from=team_from, model_from=model_from, provider=provider,
                         gpu_type=gpu_type.strip() if gpu_type else None, tz=zone, tz_name=zone_name,
                         epoch=parse_epoch(epoch) if epoch else None,
                         fields=parse_fields(fields) if fields else None, mapping=mapping)


# --- the source ------------------------------------------------------------------------------------------------

@dataclass
class Source:
    """The text stream read, and how far into its bytes reading has gone (for the progress bar)."""

    name: str
    text: io.TextIOWrapper
    binary: IO[bytes]
    size: int | None
    owned: bool

    def position(self) -> int:
        try:
            return self.binary.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        """Close the file; standard input is left open."""
        self.text.detach()
        if self.owned:
            self.binary.close()


def open_source(file: str) -> Source:
    """FILE (or standard input for `-`) as UTF-8 text; a byte-order mark is dropped. Raises ValueError."""
    if file == "-":
        binary = sys.stdin.buffer
        return Source("standard input", io.TextIOWrapper(binary, encoding="utf-8-sig", newline=""), binary, None, False)
    path = Path(file)
    try:
        opened: IO[bytes] = path.open("rb")
    except OSError as exc:
        raise ValueError(f"cannot read {file}: {exc.strerror or exc}") from None
    size = path.stat().st_size
    return Source(file, io.TextIOWrapper(opened, encoding="utf-8-sig", newline=""), opened, size, True)


# --- sending ---------------------------------------------------------------------------------------------------

@asynccontextmanager
async def open_client(url: str, request_timeout_s: float) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client requests go through (tests replace this to reach an app in the same process)."""
    async with httpx.AsyncClient(base_url=url, timeout=request_timeout_s) as client:
        yield client


class ServiceError(Exception):
    """The service refused a request or could not be reached; the message says which and why."""


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_line(record: dict[str, Any], separators: tuple[str, str] = (",", ":")) -> str:
    """`record` as one line of JSON: UTF-8 text as it is, except that a record holding a lone surrogate (which
    UTF-8 cannot carry) is written with `\\u` escapes, so the service refuses that one record, not the request."""
    text = json.dumps(record, ensure_ascii=False, separators=separators, default=_json_default)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True, separators=separators, default=_json_default)
    return text


def ndjson_body(rows: list[MappedRow]) -> bytes:
    """The records of `rows` as an NDJSON body, one per line, UTF-8."""
    return "".join(json_line(row.record) + "\n" for row in rows).encode("utf-8")


@dataclass
class Refusal:
    line: int | None
    job_id: str | None
    field: str | None
    message: str


@dataclass
class Totals:
    """What the service said about everything sent so far."""

    requests: int = 0
    sent: int = 0
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    failed: int = 0
    teams_created: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    refusals_omitted: int = 0
    last_line: int = 0

    def add(self, rows: list[MappedRow], report: dict[str, Any]) -> None:
        """Add one request's report; its errors' `index` (line within the request) is mapped to the file's line."""
        self.requests += 1
        self.sent += len(rows)
        self.last_line = rows[-1].line
        for key in ("received", "created", "updated", "unchanged", "superseded", "failed", "teams_created"):
            setattr(self, key, getattr(self, key) + int(report.get(key, 0)))
        self.refusals_omitted += int(report.get("errors_omitted", 0))
        for error in report.get("errors", []):
            index = error.get("index")
            line = rows[index - 1].line if isinstance(index, int) and 1 <= index <= len(rows) else None
            if len(self.refusals) < ERRORS_SHOWN:
                self.refusals.append(Refusal(line, error.get("job_id"), error.get("field"), error.get("message", "")))
            else:
                self.refusals_omitted += 1


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    return str(body.get("detail") or body) if isinstance(body, dict) else str(body)[:200]


def _http_problem(response: httpx.Response) -> str:
    status, detail = response.status_code, _detail(response)
    hint = {
        401: "the token was refused (unknown, expired or revoked): create a new one",
        403: "this token may not ingest: use an ingest token (jobcost tokens create --scope ingest) or an admin's",
        404: f"no ingest endpoint there: is --url the service's root (without {INGEST_PATH.rsplit('/admin', 1)[0]})?",
        413: "the request was too large: try a smaller --chunk-size",
    }.get(status)
    if hint is None and status >= 500:
        retry = response.headers.get("retry-after")
        hint = "the service failed" + (f"; it asks to retry after {retry} s" if retry else "")
    return f"HTTP {status} from the service: {hint or 'unexpected answer'} ({detail})"


async def post_chunk(client: httpx.AsyncClient, token: str, rows: list[MappedRow]) -> dict[str, Any]:
    """POST `rows` as one NDJSON request and return the service's report. Raises ServiceError."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    try:
        response = await client.post(INGEST_PATH, content=ndjson_body(rows), headers=headers)
    except httpx.TimeoutException as exc:
        raise ServiceError(f"no answer from {client.base_url} within the timeout ({type(exc).__name__}): "
                           "the request's jobs may be stored or not; try a larger --timeout") from None
    except httpx.HTTPError as exc:
        raise ServiceError(f"cannot reach the service at {client.base_url}: {exc or type(exc).__name__}") from None
    if response.status_code != 200:
        raise ServiceError(_http_problem(response))
    try:
        return response.json()
    except ValueError:
        raise ServiceError(f"the service answered 200 with a body that is not JSON ({response.text[:100]!r})") from None


@dataclass
class Run:
    """One run of the command: the importer's account, and what was sent."""

    source: Source
    format: str
    tally: Tally = field(default_factory=Tally)
    totals: Totals = field(default_factory=Totals)


def _chunks(rows: Iterator[MappedRow], size: int) -> Iterator[list[MappedRow]]:
    chunk: list[MappedRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _progress(run: Run) -> Progress:
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                        console=err_console, disable=not err_console.is_terminal, transient=True)
    progress.add_task(_describe(run), total=run.source.size)
    return progress


def _describe(run: Run) -> str:
    return (f"rows read {run.tally.rows_read:,} · jobs sent {run.totals.sent:,} · "
            f"refused {run.totals.failed:,}")


async def send_all(run: Run, rows: Iterator[MappedRow], *, url: str, token: str, chunk_size: int,
                   request_timeout_s: float) -> None:
    """Send `rows` in chunks of `chunk_size`, adding each report to `run.totals`. Raises ServiceError."""
    with _progress(run) as progress:
        task = progress.tasks[0].id
        async with open_client(url.rstrip("/"), request_timeout_s) as client:
            for chunk in _chunks(rows, chunk_size):
                progress.update(task, description=_describe(run), completed=run.source.position())
                report = await post_chunk(client, token, chunk)
                run.totals.add(chunk, report)
                progress.update(task, description=_describe(run), completed=run.source.position())


# --- reports ---------------------------------------------------------------------------------------------------

def _print(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def print_tally(run: Run) -> None:
    """What the importer read: rows, mapped/folded/skipped, skips by reason with examples, amounts, notes."""
    tally = run.tally
    _print(f"read {run.source.name} ({run.format}): {tally.rows_read:,} rows: {tally.mapped:,} mapped, "
           f"{tally.folded:,} folded, {tally.skipped_total:,} skipped")
    for reason, count in tally.skipped.most_common():
        examples = "; ".join(tally.examples.get(reason, []))
        _print(f"  skipped {count:,} × {reason}" + (f" ({examples})" if examples else ""))
    for reason, amount in tally.skipped_amounts.items():
        _print(f"  left out with '{reason}': {amount} USD")
    for note in tally.notes:
        _print(f"  note: {note}")
    repeated = tally.repeated_ids
    if repeated.rows:
        _print(f"  warning: {_count(repeated.rows, 'row')} repeat the job_id of an earlier row "
               f"({_count(repeated.ids, 'distinct id')}; {'; '.join(repeated.examples)}): the service keeps one "
               f"job per id, the last row's. {REPEAT_HINTS.get(run.format, REPEAT_HINTS['csv'])}")
    try:
        tally.check()
    except AssertionError as exc:
        err_console.print(f"[yellow]warning:[/yellow] the importer's account does not add up: {escape(str(exc))}",
                          soft_wrap=True)


def _refusal_text(refusal: Refusal) -> str:
    where = f"line {refusal.line}" if refusal.line is not None else "line ?"
    job = f" job_id {refusal.job_id!r}" if refusal.job_id else ""
    what = f"{refusal.field}: " if refusal.field else ""
    return f"  {where}{job}: {what}{refusal.message}"


def print_refusals(refusals: list[Refusal], omitted: int) -> None:
    for refusal in refusals:
        _print(_refusal_text(refusal))
    if omitted:
        _print(f"  … and {omitted:,} more reasons")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def print_totals(totals: Totals) -> None:
    """What the service did with everything sent."""
    if not totals.requests:
        _print("sent nothing: no job to send")
        return
    _print(f"sent {_count(totals.sent, 'job')} in {_count(totals.requests, 'request')}: {totals.created:,} created, "
           f"{totals.updated:,} updated, {totals.unchanged:,} unchanged, {totals.superseded:,} superseded, "
           f"{totals.failed:,} refused"
           + (f"; {_count(totals.teams_created, 'new team')}" if totals.teams_created else ""))
    if totals.refusals:
        _print("refused:")
        print_refusals(totals.refusals, totals.refusals_omitted)


def _sent_before_failure(totals: Totals) -> str:
    if not totals.requests:
        return "Nothing was sent before it."
    return (f"Before it, {totals.sent:,} jobs (source lines up to {totals.last_line:,}) were sent and stored; the "
            "failed request's jobs may be stored in part. Running the same command again is safe: jobs already "
            "stored come back unchanged.")


# --- dry run ---------------------------------------------------------------------------------------------------

def dry_run(run: Run, rows: Iterator[MappedRow]) -> ExitCode:
    """Validate every record locally; print the first few as JSON, the tally and the refusals."""
    now = datetime.now(UTC)
    catalog = default_catalog()
    shown: list[MappedRow] = []
    valid = 0
    refusals: list[Refusal] = []
    omitted = 0
    for row in rows:
        if len(shown) < RECORDS_SHOWN:
            shown.append(row)
        outcome = normalize_record(row.record, now=now, catalog=catalog)
        if not isinstance(outcome, list):
            valid += 1
            continue
        for reason in outcome:
            if len(refusals) < ERRORS_SHOWN:
                job_id = row.record.get("job_id") if isinstance(row.record.get("job_id"), str) else None
                refusals.append(Refusal(row.line, job_id, reason.field, reason.message))
            else:
                omitted += 1
    for row in shown:
        _print(f"line {row.line}: " + json_line(row.record, separators=(", ", ": ")))
    print_tally(run)
    invalid = run.tally.mapped - valid
    _print(f"dry run, nothing sent: {valid:,} valid, {invalid:,} would be refused")
    print_refusals(refusals, omitted)
    return ExitCode.REFUSED if invalid else ExitCode.OK


# --- the command -----------------------------------------------------------------------------------------------

def _read_rows(run: Run, rows: Iterator[MappedRow]) -> Iterator[MappedRow]:
    """`rows`, with the errors that stop reading turned into a clean exit (2) that says what was sent."""
    try:
        for row in rows:
            run.tally.repeated_ids.see(row.record.get("job_id"), row.line)
            yield row
    except ImporterConfigError as exc:
        _fail(f"{exc}{_stopped(run)}")
    except UnicodeDecodeError as exc:
        _fail(f"{run.source.name} is not UTF-8 text ({exc.reason}, after {run.tally.rows_read:,} rows); convert "
              f"it first, e.g. iconv -f latin1 -t utf-8 FILE{_stopped(run)}")
    except csv.Error as exc:
        _fail(f"{run.source.name}: not readable as CSV ({exc}){_stopped(run)}")


def _stopped(run: Run) -> str:
    totals = run.totals
    if not totals.requests:
        return ". Nothing was sent."
    return (f". Reading stopped there; {totals.sent:,} jobs (source lines up to {totals.last_line:,}) were "
            "already sent and stored.")


def ingest(
    file: Annotated[str, typer.Argument(metavar="FILE", help="The export to read, UTF-8; - reads standard input.",
                                        show_default=False)],
    format: Annotated[Format, typer.Option("--format", "-f", help="The export's format.",
                                           case_sensitive=False, show_default=False)],
    url: Annotated[str, typer.Option(envvar="JOBCOST_URL", help="The jobcost service's root URL.")] = DEFAULT_URL,
    token: Annotated[str | None, typer.Option(
        envvar="JOBCOST_TOKEN", show_default=False,
        help="An ingest token (jobcost tokens create --scope ingest) or an admin's bearer token; required "
             "unless --dry-run.")] = None,
    chunk_size: Annotated[int, typer.Option(min=1, max=MAX_CHUNK_SIZE, help="Jobs per request.")] = DEFAULT_CHUNK_SIZE,
    cluster: Annotated[str | None, typer.Option(
        help="Namespace for job ids unique only within one cluster: ids become CLUSTER:<id>.",
        show_default=False)] = None,
    team: Annotated[str | None, typer.Option(help="The team of every job.", show_default=False)] = None,
    team_from: Annotated[str | None, typer.Option(
        help="The column (or tag key) holding the team.", show_default=False)] = None,
    model_from: Annotated[str | None, typer.Option(
        help="The column (or tag key) holding the model name.", show_default=False)] = None,
    provider: Annotated[str | None, typer.Option(
        help="The provider of every job (aws, gcp, azure, lambda, or your own name).", show_default=False)] = None,
    gpu_type: Annotated[str | None, typer.Option(
        help="The GPU type of every job (slurm, k8s-pods: of every job with GPUs), e.g. V100 or A100-80GB; "
             "not for focus.", show_default=False)] = None,
    tz: Annotated[str, typer.Option(
        help="IANA time zone (Europe/Paris) in which timestamps without an offset are read.")] = "UTC",
    epoch: Annotated[str | None, typer.Option(
        help="RFC 3339 instant, with an offset, that relative trace times count from.", show_default=False)] = None,
    fields: Annotated[str | None, typer.Option(
        help="Comma-separated column names of an export without a header row.", show_default=False)] = None,
    map_pairs: Annotated[list[str] | None, typer.Option(
        "--map", metavar="FIELD=COLUMN", show_default=False,
        help="csv/ndjson: the column a job field comes from, e.g. job_id=JobID or labels.partition=Partition; "
             "repeatable.")] = None,
    map_file: Annotated[Path | None, typer.Option(
        help="csv/ndjson: a TOML file whose table named map holds FIELD = \"COLUMN\" lines; --map overrides it.",
        show_default=False)] = None,
    dry_run_: Annotated[bool, typer.Option(
        "--dry-run", help="Read and validate locally; send nothing; show the first records.")] = False,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for each request.")] = 300.0,
) -> None:
    """Read FILE with an importer and send its jobs to the service, CHUNK-SIZE per request, as NDJSON.

    Prints what was read (rows mapped, folded, skipped by reason) and what the service did (created, updated,
    unchanged, superseded, refused, with source line numbers). Exit status: 0 all accepted, 1 some refused (the
    rest are sent), 2 a usage error (nothing sent), 3 the service refused a request or could not be reached.
    """
    token = (token or "").strip()  # a token file saved with CRLF or a trailing space
    if not dry_run_ and not token:
        _fail("--token (or JOBCOST_TOKEN) is required to send jobs; --dry-run checks the file without sending")
    if token and not (token.isascii() and token.isprintable() and " " not in token):
        # Never echo it: it is a secret, and the error would land in cron mail or CI logs.
        _fail("--token (or JOBCOST_TOKEN) is not a token: it holds spaces or characters a token never has; check "
              "the file or variable it came from")
    try:
        options = build_options(cluster=cluster, team=team, team_from=team_from, model_from=model_from,
                                provider=provider, tz=tz, epoch=epoch, fields=fields, pairs=map_pairs or [],
                                map_file=map_file, gpu_type=gpu_type)
        importer = importer_for(format.value)(options)
    except (ValueError, ImporterConfigError) as exc:
        _fail(str(exc))
    try:
        source = open_source(file)
    except ValueError as exc:
        _fail(str(exc))
    with closing(source):
        run = Run(source, format.value)
        rows = _read_rows(run, importer.read(source.text, run.tally))
        if dry_run_:
            raise typer.Exit(int(dry_run(run, rows)))
        _send(run, rows, url=url, token=token or "", chunk_size=chunk_size, timeout=timeout)


def _send(run: Run, rows: Iterator[MappedRow], *, url: str, token: str, chunk_size: int, timeout: float) -> None:
    try:
        asyncio.run(send_all(run, rows, url=url, token=token, chunk_size=chunk_size, request_timeout_s=timeout))
    except ServiceError as exc:
        print_tally(run)
        if run.totals.requests:
            print_totals(run.totals)
        _fail(f"{exc}. {_sent_before_failure(run.totals)}", ExitCode.SERVICE)
    print_tally(run)
    print_totals(run.totals)
    if run.totals.failed:
        raise typer.Exit(int(ExitCode.REFUSED))
