"""`jobcost ingest FILE --format FORMAT`: read an export with an importer and send its jobs to a jobcost service.

The file is read as it is sent: an importer (`app.ingestion.importers`) turns rows into job records, which go to
`POST /api/v1/admin/ingest/jobs` as NDJSON, `--chunk-size` records per request. The service answers each request
with a report whose error `index` is the line within that request's body; it is mapped back to the source file's
line here. `--dry-run` sends nothing: records are validated locally, by the rules the service applies.

Exit codes: 0 when every job sent was accepted, 1 when the service (or `--dry-run`) refused any (the good ones
are all sent regardless), 2 for a usage or configuration error (bad option, unreadable file or header; nothing
sent), 3 when the service could not be reached or refused a request (HTTP 401, 403, 413, 5xx, …): what was
already sent is said, and nothing more is sent.

The command is here; its options are read in `cli_options`, the requests sent in `cli_send`, what it prints in
`cli_report`.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from contextlib import closing
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from app.ingestion.cli_options import build_options, open_source
from app.ingestion.cli_report import dry_run, err_console, print_tally, print_totals, progress_bar, sent_before_failure
from app.ingestion.cli_send import Run, ServiceError, send_all
from app.ingestion.importers import FORMATS, ImporterConfigError, MappedRow, importer_for

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_CHUNK_SIZE = 10_000
MAX_CHUNK_SIZE = 100_000

Format = StrEnum("Format", {name: name for name in FORMATS})  # type: ignore[misc]


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    SERVICE = 3


def _fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(int(code))


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
    region: Annotated[str | None, typer.Option(
        help="The region or data centre of every job (us-east-1, or your own name, up to 64 characters): where "
             "the export has none (slurm, k8s-pods) or to override it (focus, csv/ndjson).",
        show_default=False)] = None,
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
                                map_file=map_file, gpu_type=gpu_type, region=region)
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
            raise typer.Exit(int(ExitCode.REFUSED if dry_run(run, rows) else ExitCode.OK))
        _send(run, rows, url=url, token=token or "", chunk_size=chunk_size, timeout=timeout)


def _send(run: Run, rows: Iterator[MappedRow], *, url: str, token: str, chunk_size: int, timeout: float) -> None:
    try:
        with progress_bar(run) as redraw:
            asyncio.run(send_all(run, rows, url=url, token=token, chunk_size=chunk_size, request_timeout_s=timeout,
                                 on_progress=redraw))
    except ServiceError as exc:
        print_tally(run)
        if run.totals.requests:
            print_totals(run.totals)
        _fail(f"{exc}. {sent_before_failure(run.totals)}", ExitCode.SERVICE)
    print_tally(run)
    print_totals(run.totals)
    if run.totals.failed:
        raise typer.Exit(int(ExitCode.REFUSED))
