"""The lines and steps of a sacct export, for `slurm.py`: the rows without blank and comment lines, and the book
of which recent jobs were mapped or skipped, so that each step row is folded into its job or reported."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TextIO

from app.ingestion.importers.base import Tally

# How many recent job ids are remembered for their steps (sacct writes a job's steps right after it).
STEP_WINDOW = 65_536


@dataclass(slots=True)
class Lines:
    """The stream's lines as (1-based line number, text), without blank and `#` comment lines (not rows: they
    are counted here and reported in a note)."""

    stream: TextIO
    blank: int = 0
    comments: int = 0
    repeated_headers: int = 0

    def __iter__(self) -> Iterator[tuple[int, str]]:
        for number, raw in enumerate(self.stream, start=1):
            text = raw.rstrip("\r\n")
            if number == 1:
                text = text.removeprefix("\ufeff")
            if not text.strip():
                self.blank += 1
            elif text.lstrip().startswith("#"):
                self.comments += 1
            else:
                yield number, text

    def note(self, tally: Tally) -> None:
        parts = [f"{n} {what}" for n, what in ((self.blank, "blank"), (self.comments, "comment (#)"),
                                               (self.repeated_headers, "repeated header")) if n]
        if parts:
            tally.note(f"ignored {', '.join(parts)} line(s): they are not rows")


@dataclass(slots=True)
class StepBook:
    """Which recent jobs were mapped or skipped, and the steps waiting for a job not read yet (a step is
    folded into its job; steps whose job never comes are skipped at the end). Bounded by `window` jobs."""

    window: int = STEP_WINDOW
    jobs: OrderedDict[str, bool] = field(default_factory=OrderedDict)
    waiting: OrderedDict[str, list[int]] = field(default_factory=OrderedDict)
    waiting_count: int = 0

    def job(self, key: str, mapped: bool, tally: Tally) -> None:
        self.jobs[key] = mapped
        self.jobs.move_to_end(key)
        if len(self.jobs) > self.window:
            self.jobs.popitem(last=False)
        for line in self.waiting.pop(key, []):
            self.waiting_count -= 1
            self._settle(mapped, line, key, tally)

    def step(self, key: str, line: int, tally: Tally) -> None:
        if key in self.jobs:
            self._settle(self.jobs[key], line, key, tally)
            return
        self.waiting.setdefault(key, []).append(line)
        self.waiting_count += 1
        while self.waiting_count > self.window:
            oldest, lines = self.waiting.popitem(last=False)
            self._orphans(oldest, lines, tally)

    def finish(self, tally: Tally) -> None:
        while self.waiting:
            key, lines = self.waiting.popitem(last=False)
            self._orphans(key, lines, tally)

    def _orphans(self, key: str, lines: list[int], tally: Tally) -> None:
        self.waiting_count -= len(lines)
        for line in lines:
            tally.skip("step without its job", line, f"no row of job {key} in the file")

    @staticmethod
    def _settle(mapped: bool, line: int, key: str, tally: Tally) -> None:
        if mapped:
            tally.fold()
        else:
            tally.skip("step of a skipped job", line, f"job {key} was skipped")
