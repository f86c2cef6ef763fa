"""What `jobcost ingest` prints: the importer's tally, the service's totals and refusals (by source line), the
`--dry-run` check, and the progress bar. Results go to standard output, errors and progress to standard error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from app.ingestion.cli_send import ERRORS_SHOWN, Refusal, Run, Totals, json_line
from app.ingestion.importers import MappedRow
from app.ingestion.normalize import normalize_record
from app.pricing.catalog import default_catalog

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
GPU_TYPES_SHOWN = 12

console = Console()
err_console = Console(stderr=True)


@contextmanager
def progress_bar(run: Run) -> Iterator[Callable[[], None]]:
    """A progress bar on standard error (only when it is a terminal; it vanishes at the end) over the source's
    bytes, described by `run`'s counts; yields the function that redraws it."""
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                        console=err_console, disable=not err_console.is_terminal, transient=True)
    task = progress.add_task(_describe(run), total=run.source.size)

    def redraw() -> None:
        progress.update(task, description=_describe(run), completed=run.source.position())

    with progress:
        yield redraw


def _describe(run: Run) -> str:
    return (f"rows read {run.tally.rows_read:,} · jobs sent {run.totals.sent:,} · "
            f"refused {run.totals.failed:,}")


def _print(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def print_tally(run: Run) -> None:
    """What the importer read: rows, mapped/folded/skipped, skips by reason with examples, amounts, notes."""
    tally = run.tally
    _print(f"read {run.source.name} ({run.format}): {_count(tally.rows_read, 'row')}: {tally.mapped:,} mapped, "
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


def sent_before_failure(totals: Totals) -> str:
    if not totals.requests:
        return "Nothing was sent before it."
    return (f"Before it, {totals.sent:,} jobs (source lines up to {totals.last_line:,}) were sent and stored; the "
            "failed request's jobs may be stored in part. Running the same command again is safe: jobs already "
            "stored come back unchanged.")


# --- dry run ---------------------------------------------------------------------------------------------------

def stored_gpu_types(counts: Counter[tuple[str, str]]) -> str:
    """`(GPU type as sent, as stored) → valid jobs` as one line, most jobs first: `h100 → H100 (3 jobs)`, a
    name stored as sent alone (`H100 (3 jobs)`), the first GPU_TYPES_SHOWN pairs. The stored name is the shipped
    catalog's (aliases, MIG slices as `<PARENT>-MIG-<g>G.<mem>GB`, else upper case)."""
    items = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = [(sent if sent == stored else f"{sent} → {stored}") + f" ({_count(n, 'job')})"
             for (sent, stored), n in items[:GPU_TYPES_SHOWN]]
    more = len(items) - GPU_TYPES_SHOWN
    return "; ".join(shown) + (f"; and {more:,} more" if more > 0 else "")


def dry_run(run: Run, rows: Iterator[MappedRow]) -> int:
    """Validate every record locally, by the rules the service applies; print the first few as JSON, the tally and
    the refusals. Returns how many mapped records the service would refuse."""
    now = datetime.now(UTC)
    catalog = default_catalog()
    shown: list[MappedRow] = []
    valid = 0
    gpu_types: Counter[tuple[str, str]] = Counter()
    refusals: list[Refusal] = []
    omitted = 0
    for row in rows:
        if len(shown) < RECORDS_SHOWN:
            shown.append(row)
        outcome = normalize_record(row.record, now=now, catalog=catalog)
        if not isinstance(outcome, list):
            valid += 1
            if outcome.gpu_type is not None:
                gpu_types[(str(row.record["gpu_type"]).strip(), outcome.gpu_type)] += 1
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
    if gpu_types:
        _print(f"  gpu_type as the service stores it: {stored_gpu_types(gpu_types)}")
    invalid = run.tally.mapped - valid
    _print(f"dry run, nothing sent: {valid:,} valid, {invalid:,} would be refused")
    print_refusals(refusals, omitted)
    return invalid
