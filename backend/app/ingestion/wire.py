"""Decoding batches as they arrive on the wire, exactly: JSON numbers with a fraction become `Decimal`, never
`float` (a float would turn 0.1 into 0.1000000000000000055…, and large amounts lose their cents).

Two decoders, one answer. `jiter` (pydantic's compiled parser: numbers with a fraction or an exponent read as
`Decimal` from their text, duplicate keys and NaN/Infinity refused) decodes every ordinary body. Whatever it
refuses, and any body holding a run of 64 digits (a possible integer over 64 digits, which jiter would accept), is
decoded again by the standard library's parser with Python hooks (`_decode_exactly`), the reference: its answer or
its error is the one returned. So malformed JSON keeps the standard library's messages and positions, and what
only the standard library accepts — UTF-16/32 bodies, a UTF-8 BOM, lone surrogates (refused later, per record),
nesting deeper than jiter's limit of ~200 levels — is still accepted as before.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from jiter import from_json


class JsonDecodeError(ValueError):
    """The bytes are not a JSON document. `position` is the character offset where decoding stopped."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


_MAX_INTEGER_DIGITS = 64
# An integer over 64 characters (sign included) holds a run of at least 64 digits; a body without one cannot hold
# an integer the length limit refuses. A run in a string or a fraction sends the body to the reference decoder too,
# which reads it the same; so does any UTF-16/32 body, which jiter refuses. Found by mapping digits to "0" and all
# else to " ", then one substring search: ~16x faster than the regular expression `\d{64}`, ~1 ms for 5 MiB.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))  # "0"-"9" to "0", all else " "
_LONG_RUN = b"0" * _MAX_INTEGER_DIGITS


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
    """Decode UTF-8 (or UTF-16/32) JSON with exact decimals: objects as `dict`, arrays as `list`, numbers with a
    fraction or an exponent as `Decimal` (its digits and exponent as written: `1E+2`, `-0.0`), other numbers as
    `int`. Refused as malformed: `NaN`/`Infinity`, duplicate keys in an object, integers over 64 characters (sign
    included), and nesting too deep to decode. Raises JsonDecodeError (its `position` a character offset, 0 when
    the error has none)."""
    if data.translate(_DIGITS_ONLY).find(_LONG_RUN) == -1:
        try:
            return from_json(data, float_mode="decimal", catch_duplicate_keys=True, allow_inf_nan=False,
                             cache_mode="keys")
        except ValueError:
            pass  # the reference decoder says why, or accepts what jiter does not (see the module's docstring)
    return _decode_exactly(data)


def _decode_exactly(data: bytes) -> Any:
    """The reference decoder: the standard library's, with a Python hook per number and per object."""
    try:
        return json.loads(data, parse_float=Decimal, parse_int=_integer, parse_constant=_refuse_constant,
                          object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise JsonDecodeError(str(exc), exc.pos) from None
    except RecursionError:
        raise JsonDecodeError("nested too deeply", 0) from None
    except ValueError as exc:  # bad encoding (UnicodeDecodeError), NaN, duplicate keys, an integer too long
        raise JsonDecodeError(str(exc), 0) from None
