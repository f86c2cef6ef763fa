"""Decoding batches as they arrive on the wire, exactly: JSON numbers with a fraction become `Decimal`, never
`float` (a float would turn 0.1 into 0.1000000000000000055…, and large amounts lose their cents)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


class JsonDecodeError(ValueError):
    """The bytes are not a JSON document. `position` is the character offset where decoding stopped."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def decode_json(data: bytes) -> Any:
    """Decode UTF-8 (or UTF-16/32) JSON with exact decimals. `NaN`/`Infinity` and nesting too deep to decode are
    refused as malformed. Raises JsonDecodeError."""
    try:
        return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise JsonDecodeError(exc.msg, exc.pos) from None
    except RecursionError:
        raise JsonDecodeError("nested too deeply", 0) from None
    except (ValueError, UnicodeDecodeError) as exc:  # bad encoding, NaN, an integer too long to read
        raise JsonDecodeError(str(exc), 0) from None
