"""`wire.decode_json`: exact decimals, the refusals (NaN, duplicate keys, long integers, deep nesting), encodings,
errors with positions; and the compiled fast path answering exactly as the standard library's reference decoder."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import pytest

from app.ingestion import wire
from app.ingestion.wire import JsonDecodeError, decode_json


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down, a Decimal with the same digits and exponent (so `1E+2`
    is not `100`, nor `-0.0` `0.0`)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.fixture
def reference_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies the reference decoder was asked to decode (the fast path answered the others)."""
    calls: list[bytes] = []
    reference = wire._decode_exactly

    def counted(data: bytes) -> Any:
        calls.append(data)
        return reference(data)

    monkeypatch.setattr(wire, "_decode_exactly", counted)
    return calls


@pytest.mark.parametrize("text", ["0.1", "1e-7", "1E+2", "-0.0", "123456789012345678.000001", "1.0", "1e5",
                                  "-1.5E-3", "0.1e1", "48.717983", "1E+400", "1.5e-999999999", "-0.0e0"])
def test_fractions_and_exponents_are_exact_decimals(text: str, reference_calls: list[bytes]) -> None:
    value = decode_json(f'{{"v": {text}}}'.encode())["v"]
    assert type(value) is Decimal
    assert value.as_tuple() == Decimal(text).as_tuple()
    assert reference_calls == []  # the compiled decoder read them


@pytest.mark.parametrize("text", ["0", "-0", "7", "-12", "9223372036854775808", "-9223372036854775809",
                                  "18446744073709551616", "1" * 63, "-" + "9" * 63])
def test_integers_are_exact(text: str, reference_calls: list[bytes]) -> None:
    value = decode_json(f"[{text}]".encode())[0]
    assert type(value) is int
    assert value == int(text)
    assert reference_calls == []


def test_integers_up_to_64_characters_are_read_and_longer_ones_refused() -> None:
    assert decode_json(b"[" + b"9" * 64 + b"]") == [10**64 - 1]
    assert decode_json(b"-" + b"9" * 63) == -(10**63 - 1)
    for text in (b"9" * 65, b"-" + b"9" * 64, b"1" * 4400, b'{"a": [1, ' + b"2" * 100 + b"]}"):
        with pytest.raises(JsonDecodeError, match="digits is longer than any field takes"):
            decode_json(text)


def test_a_long_run_of_digits_in_a_string_or_a_fraction_is_read() -> None:
    digits = "1234567890" * 8
    assert decode_json(f'{{"label": "{digits}", "v": 0.{digits}}}'.encode()) == {
        "label": digits, "v": Decimal("0." + digits)}


@pytest.mark.parametrize("body", [b"NaN", b"Infinity", b"-Infinity", b'{"cost": NaN}', b"[1, Infinity]",
                                  b'{"a": {"b": -Infinity}}'])
def test_nan_and_infinity_are_refused(body: bytes) -> None:
    with pytest.raises(JsonDecodeError, match="is not a number JSON allows"):
        decode_json(body)


@pytest.mark.parametrize("body", [b'{"cost": "1", "cost": "99"}', b'{"a": {"b": 1, "b": 1}}',
                                  b'[{}, {"x": 1, "y": 2, "x": 3}]', b'{"\\u0061": 1, "a": 2}'])
def test_duplicate_keys_are_refused(body: bytes) -> None:
    with pytest.raises(JsonDecodeError, match="duplicate key"):
        decode_json(body)


def test_a_key_repeated_in_different_objects_is_not_a_duplicate() -> None:
    assert decode_json(b'{"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]}') == {
        "a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]}


def test_many_keys_with_one_duplicate_at_the_end_is_refused() -> None:
    keys = ", ".join(f'"k{i}": {i}' for i in range(2000))
    with pytest.raises(JsonDecodeError, match="duplicate key 'k7'"):
        decode_json(f'{{{keys}, "k7": 0}}'.encode())


DOCUMENT = {"team": "équipe", "user": "ζ", "label": "😀 ok", "n": [1, Decimal("2.50")]}


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                                   "utf-32-le", "utf-32-be"])
def test_utf8_and_utf16_32_bodies_are_read(codec: str) -> None:
    text = '{"team": "équipe", "user": "\\u03b6", "label": "😀 ok", "n": [1, 2.50]}'
    assert same(decode_json(text.encode(codec)), DOCUMENT)


def test_invalid_utf8_is_refused() -> None:
    for body in (b'{"team": "\xff"}', b'{"team": "\xc0\xaf"}', b'["\xf4\x90\x80\x80"]'):
        with pytest.raises(JsonDecodeError, match="codec can't decode"):
            decode_json(body)


def test_a_lone_surrogate_escape_is_read_and_left_to_the_record_check() -> None:
    # The service refuses the record that holds it (test_ingest_api), not the whole body.
    assert decode_json(b'{"job_id": "\\ud800", "t": "\\udc00\\ud800"}') == {"job_id": "\ud800",
                                                                            "t": "\udc00\ud800"}
    assert decode_json(b'["\\ud83d\\ude00"]') == ["😀"]


@pytest.mark.parametrize(("body", "position"), [
    (b'{"a": 1,}', 8),
    (b'{"jobs": [1, 2,]}', 15),
    (b'{"jobs": [1, 2', 14),
    (b"[1]\x00", 3),
    (b"", 0),
    (b'{"a": tru}', 6),
    (b"01", 1),
    (b'  \n[1,\n 2, x]', 11),
])
def test_malformed_json_says_where(body: bytes, position: int) -> None:
    with pytest.raises(JsonDecodeError) as caught:
        decode_json(body)
    assert caught.value.position == position
    assert f"(char {position})" in str(caught.value)


def test_deep_nesting_is_refused_without_crashing() -> None:
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        with pytest.raises(JsonDecodeError, match="nested too deeply"):
            decode_json(body)
    assert decode_json(b"[1]") == [1]  # the interpreter is still sound


def test_nesting_a_few_hundred_levels_deep_is_read_as_before() -> None:
    value = decode_json(b"[" * 300 + b"0.5" + b"]" * 300)
    for _ in range(300):
        value = value[0]
    assert value == Decimal("0.5")


# ---- the compiled decoder against the reference, on generated documents ----

_STRINGS = ["", "a", "job-1", "équipe", "\u03b6\u00e9", "😀", "tab\there", 'q"uote', "back\\slash", "\x00\x1f",
            "\u2028", "/path/x", "\ud800", "\udfff"]
_NUMBERS = ["0", "-0", "1", "-1", "42", "0.1", "-0.0", "1e5", "1E+2", "1e-7", "2.50", "-1.5E-3", "1.0e0",
            "9223372036854775807", "-9223372036854775808", "18446744073709551616", "123456789012345678.000001",
            "0.000000000000000000001", "1E+400", "5e-324"]
_COLONS = [":", " : ", ":\n"]


def _generate(rng: random.Random, depth: int) -> str:
    kind = rng.randrange(7 if depth < 5 else 4)
    if kind == 0:
        return rng.choice(_NUMBERS)
    if kind == 1:
        return json.dumps(rng.choice(_STRINGS), ensure_ascii=rng.random() < 0.5)
    if kind == 2:
        return rng.choice(["true", "false", "null"])
    if kind == 3:
        return json.dumps(str(rng.random()))
    if kind in (4, 5):
        keys = rng.sample(_STRINGS[:12] + [f"k{i}" for i in range(20)], rng.randrange(6))
        pairs = (json.dumps(k) + rng.choice(_COLONS) + _generate(rng, depth + 1) for k in keys)
        return "{" + ", ".join(pairs) + "}"
    return "[" + ",".join(_generate(rng, depth + 1) for _ in range(rng.randrange(5))) + "]"


def _outcome(decode: Any, body: bytes) -> tuple[str, Any]:
    try:
        return "value", decode(body)
    except JsonDecodeError as exc:
        return "error", (str(exc), exc.position)


def test_the_fast_path_answers_as_the_reference_on_generated_documents(reference_calls: list[bytes]) -> None:
    rng = random.Random(17)
    for _ in range(2000):
        body = _generate(rng, 0).encode("utf-8", "surrogatepass")
        kind, value = _outcome(decode_json, body)
        expected = json.loads(body, parse_float=Decimal, parse_int=int, object_pairs_hook=dict)
        assert kind == "value" and same(value, expected), body
    # Lone surrogates aside (which only the reference reads), the compiled decoder answered.
    assert all(b"\\ud800" in body or b"\\udfff" in body or b"\xed" in body for body in reference_calls)


def test_the_fast_path_refuses_what_the_reference_refuses_on_mutated_documents(monkeypatch: pytest.MonkeyPatch,
                                                                               ) -> None:
    rng = random.Random(1717)
    reference = wire._decode_exactly
    alphabet = b'{}[]:,"\\ 0123456789.eE+-tfnaluNI\x00\xff\xc3\n'
    for _ in range(3000):
        body = bytearray(_generate(rng, 0).encode("utf-8", "surrogatepass"))
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(body) + 1)
            action = rng.randrange(3)
            if action == 0:
                body[at:at + 1] = b""
            elif action == 1:
                body[at:at] = bytes([rng.choice(alphabet)])
            else:
                body[at:at + 1] = bytes([rng.choice(alphabet)])
        data = bytes(body)
        kind, value = _outcome(decode_json, data)
        ref_kind, ref_value = _outcome(reference, data)
        assert kind == ref_kind, data
        assert same(value, ref_value) if kind == "value" else value == ref_value, data
