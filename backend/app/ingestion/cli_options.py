"""The options of `jobcost ingest` read into `ImportOptions`, and the file it reads opened as text.

Every function here raises ValueError with a message naming the option and what is wrong; the command turns it
into exit status 2 (nothing sent).
"""

from __future__ import annotations

import io
import sys
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic_core import PydanticCustomError

from app.ingestion.field_rules import parse_instant
from app.ingestion.importers import ImportOptions


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
    """`--fields a,b,c` as the column names of a header-less export. Raises ValueError for an empty name."""
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
                  map_file: Path | None, gpu_type: str | None = None, region: str | None = None) -> ImportOptions:
    """ImportOptions from the command's options; `--map` pairs override the map file's. Raises ValueError."""
    zone, zone_name = (UTC, "UTC") if tz == "UTC" else parse_zone(tz)
    mapping = read_map_file(map_file) if map_file else {}
    mapping.update(parse_map_pairs(pairs))
    if gpu_type is not None and not gpu_type.strip():
        raise ValueError("--gpu-type: the GPU type is empty")
    if region is not None and not region.strip():
        raise ValueError("--region: the region is empty")
    return ImportOptions(cluster=cluster, team=team, team_from=team_from, model_from=model_from, provider=provider,
                         gpu_type=gpu_type.strip() if gpu_type else None,
                         region=region.strip() if region else None, tz=zone, tz_name=zone_name,
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
