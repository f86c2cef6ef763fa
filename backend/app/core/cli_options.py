"""Options shared by the `jobcost` commands of every domain (typer annotations, no app imports)."""

from __future__ import annotations

from typing import Annotated

import typer

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Overrides DATABASE_URL.", show_default=False),
]
