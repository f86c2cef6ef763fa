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


_MAX_INTEGER_DIGITS = 64


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _integer(text: str) -> int:
    if len(text) > _MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits is longer than any field takes")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of duplicate keys silently; `{"cost": "1", "cost": "99"}` is ambiguous, so refused.
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"duplicate key {key!r} in an object")
        document[key] = value
    return document


def decode_json(data: bytes) -> Any:
    """Decode UTF-8 (or UTF-16/32) JSON with exact decimals. Refused as malformed: `NaN`/`Infinity`, duplicate
    keys in an object, integers over 64 digits, and nesting too deep to decode. Raises JsonDecodeError."""
    try:
        return json.loads(data, parse_float=Decimal, parse_int=_integer, parse_constant=_refuse_constant,
                          object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise JsonDecodeError(str(exc), exc.pos) from None
    except RecursionError:
        raise JsonDecodeError("nested too deeply", 0) from None
    except ValueError as exc:  # bad encoding (UnicodeDecodeError), NaN, duplicate keys, an integer too long
        raise JsonDecodeError(str(exc), 0) from None
