"""Rate-card files (CSV and TOML): what is read, every bad line named with its field, and exact round trips."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from app.pricing.rate_file import (
    FileRate,
    Problem,
    RateFile,
    RateFileError,
    RateFileFormat,
    format_of,
    parse_rate_file,
    read_rate_file,
    render_rate_file,
)
from app.pricing.rate_rules import NOTE_MAX

CSV = RateFileFormat.csv
TOML = RateFileFormat.toml
HEADER = "provider,gpu_type,usd_per_gpu_hour,valid_from,valid_to,note\n"


def _problems(text: str, fmt: RateFileFormat) -> list[tuple[str, str | None]]:
    with pytest.raises(RateFileError) as caught:
        parse_rate_file(text, fmt)
    return [(p.where, p.field) for p in caught.value.problems]


def _messages(text: str, fmt: RateFileFormat) -> list[str]:
    with pytest.raises(RateFileError) as caught:
        parse_rate_file(text, fmt)
    return [str(p) for p in caught.value.problems]


def test_csv_reads_exact_amounts_and_utc_instants() -> None:
    card = parse_rate_file(HEADER + (
        "onprem,V100,2.10,2019-01-01T08:00:00+08:00,,chargeback\n"
        "*,A100-80GB,1.234567,2019-01-01T00:00:00Z,2020-06-30T12:00:00.250Z,\n"), CSV)
    assert card.rates == (
        FileRate("onprem", "V100", Decimal("2.1"), datetime(2019, 1, 1, tzinfo=UTC), None, "chargeback"),
        FileRate("*", "A100-80GB", Decimal("1.234567"), datetime(2019, 1, 1, tzinfo=UTC),
                 datetime(2020, 6, 30, 12, 0, 0, 250_000, tzinfo=UTC), None))
    assert card.gpu_type_aliases == {} and card.provider_aliases == {}


def test_csv_columns_in_any_order_optional_ones_left_out() -> None:
    card = parse_rate_file("valid_from,usd_per_gpu_hour,gpu_type,provider\n"
                           "2019-01-01T00:00:00Z,0.35,T4,alibaba-openb\n", CSV)
    assert card.rates == (FileRate("alibaba-openb", "T4", Decimal("0.35"), datetime(2019, 1, 1, tzinfo=UTC)),)


def test_csv_bad_lines_are_each_named_with_line_and_field() -> None:
    text = HEADER + (
        "onprem,V100,2.10,2019-01-01T00:00:00Z,,ok\n"               # line 2: fine
        "onprem,P100,0,2019-01-01T00:00:00Z,,\n"                    # line 3: zero
        "onprem,T4,1.1234567,2019-01-01T00:00:00,,\n"               # line 4: 7 places, naive
        "onprem,A10,\"1\",2019-01-01T00:00:00Z,,\"two\n"            # line 5, a note over two lines…
        "lines\"\n"                                                 # …so the next record is on line 7
        "onprem,,abc,2019-01-01T00:00:00Z,2018-01-01T00:00:00Z\n"   # line 7: 5 cells
        ",K80,1,2019-01-01,,\n"                                     # line 8: no provider, date alone
        "onprem,M60,1,2019-01-01T00:00:00Z,2019-01-01T00:00:00Z,\n"  # line 9: ends when it starts
        "\n"                                                        # line 10: blank, skipped
        "onprem,H100,-1,2019-01-01T00:00:00Z,,\n")                  # line 11: negative
    assert _problems(text, CSV) == [
        ("line 3", "usd_per_gpu_hour"),
        ("line 4", "usd_per_gpu_hour"), ("line 4", "valid_from"),
        ("line 5", "note"),
        ("line 7", None),
        ("line 8", "provider"), ("line 8", "valid_from"),
        ("line 9", "valid_to"),
        ("line 11", "usd_per_gpu_hour"),
    ]
    messages = _messages(text, CSV)
    assert messages[0] == "line 3, usd_per_gpu_hour: must be more than 0"
    assert messages[1] == "line 4, usd_per_gpu_hour: must have at most 6 decimal places (one micro-USD)"
    assert "offset" in messages[2]
    assert messages[4] == "line 7: 5 cells, the header has 6"
    assert messages[7] == "line 9, valid_to: must be after valid_from"


def test_csv_note_length_and_names_follow_the_rules() -> None:
    long_note = "n" * (NOTE_MAX + 1)
    text = HEADER + (f"onprem,V100,1,2019-01-01T00:00:00Z,,{long_note}\n"
                     f"{'p' * 65},V100,1,2019-01-01T00:00:00Z,,\n"
                     f"onprem,V100,1,2020-01-01T00:00:00Z,,{'n' * NOTE_MAX}\n")
    assert _problems(text, CSV) == [("line 2", "note"), ("line 3", "provider")]


def test_csv_header_problems_stop_at_the_header() -> None:
    assert _problems("provider,gpu_type,usd_per_gpu_hour,provider,price\n"
                     "onprem,V100,1,2019-01-01T00:00:00Z,\n", CSV) == [
        ("line 1 (header)", "price"), ("line 1 (header)", "provider"), ("line 1 (header)", "valid_from")]
    assert _problems("", CSV) == [("line 1", None)]
    assert _problems("\n\n", CSV) == [("line 1", None)]


def test_header_only_is_an_empty_card() -> None:
    assert parse_rate_file(HEADER, CSV) == RateFile(())


def test_same_key_twice_or_overlapping_is_refused_naming_both() -> None:
    text = HEADER + ("onprem,V100,1,2019-01-01T00:00:00Z,2020-01-01T00:00:00Z,\n"
                     "onprem,V100,2,2019-06-01T00:00:00Z,,\n"
                     "onprem,T4,1,2019-01-01T00:00:00Z,,\n"
                     "onprem,T4,2,2019-01-01T00:00:00+00:00,,\n")
    assert _messages(text, CSV) == [
        "line 3, valid_from: overlaps line 2 (onprem/V100 until 2020-01-01T00:00:00Z)",
        "line 5, valid_from: onprem/T4 from 2019-01-01T00:00:00Z is given twice (also line 4)"]


def test_an_open_ended_rate_followed_by_a_later_one_is_accepted() -> None:
    # As in the API: the later rate closes the open-ended one at its valid_from.
    card = parse_rate_file(HEADER + "onprem,V100,1,2019-01-01T00:00:00Z,,\nonprem,V100,2,2021-01-01T00:00:00Z,,\n",
                           CSV)
    assert [r.usd_per_gpu_hour for r in card.rates] == [Decimal(1), Decimal(2)]


TOML_CARD = '''# an on-prem card
[[rates]]
provider = "alibaba-openb"
gpu_type = "V100M16"
usd_per_gpu_hour = 0.951517      # a TOML number is read exactly
valid_from = 2019-01-01T00:00:00Z
note = "amortised"

[[rates]]
provider = "*"
gpu_type = "T4"
usd_per_gpu_hour = "0.35"
valid_from = "2019-01-01T08:00:00+08:00"
valid_to = 2030-01-01T00:00:00Z

[aliases.gpu_type]
"Tesla V100-SXM2-16GB" = "V100M16"

[aliases.provider]
"Alibaba OpenB" = "alibaba-openb"
'''


def test_toml_reads_rates_and_aliases() -> None:
    card = parse_rate_file(TOML_CARD, TOML)
    assert card.rates == (
        FileRate("alibaba-openb", "V100M16", Decimal("0.951517"), datetime(2019, 1, 1, tzinfo=UTC), None,
                 "amortised"),
        FileRate("*", "T4", Decimal("0.35"), datetime(2019, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)))
    assert card.gpu_type_aliases == {"Tesla V100-SXM2-16GB": "V100M16"}
    assert card.provider_aliases == {"Alibaba OpenB": "alibaba-openb"}


def test_toml_bad_tables_are_named_by_index_line_and_field() -> None:
    text = '''[[rates]]
provider = "onprem"
gpu_type = "V100"
usd_per_gpu_hour = 2.10
valid_from = 2019-01-01T00:00:00

[[rates]]
provider = "onprem"
gpu_type = "P100"
usd_per_gpu_hour = "x"
valid_from = 2019-01-01
price = 1

[[rates]]
provider = "onprem"
usd_per_gpu_hour = 0.0000001
valid_from = "2019-01-01T00:00:00Z"
valid_to = 12:00:00

[[rates]]
provider = "onprem"
gpu_type = "T4"
usd_per_gpu_hour = 1
valid_from = 2019-01-01T00:00:00Z
'''
    assert _problems(text, TOML) == [
        ("rates[0] (line 5)", "valid_from"),
        ("rates[1] (line 11)", "valid_from"),
        ("rates[1] (line 10)", "usd_per_gpu_hour"), ("rates[1] (line 7)", "price"),
        ("rates[2] (line 18)", "valid_to"),
        ("rates[2] (line 14)", "gpu_type"), ("rates[2] (line 16)", "usd_per_gpu_hour"),
    ]
    messages = _messages(text, TOML)
    assert messages[0] == ("rates[0] (line 5), valid_from: a local date-time without an offset: add one, "
                           "e.g. 2019-01-01T00:00:00Z")
    assert messages[5] == "rates[2] (line 14), gpu_type: is required"


def test_toml_inline_array_is_named_by_index() -> None:
    text = ('rates = [{provider = "onprem", gpu_type = "V100", usd_per_gpu_hour = 0, '
            'valid_from = 2019-01-01T00:00:00Z}]\n')
    assert _messages(text, TOML) == ["rates[0], usd_per_gpu_hour: must be more than 0"]


def test_toml_syntax_error_names_the_line() -> None:
    (message,) = _messages('[[rates]]\nprovider = "onprem\n', TOML)
    assert message.startswith("file: not valid TOML") and "line 2" in message


def test_toml_structure_problems() -> None:
    assert _problems('rates = 3\ncurrency = "EUR"\n', TOML) == [("currency", None), ("rates", None)]
    assert _problems("rates = [1]\n", TOML) == [("rates[0]", None)]
    assert _problems('[aliases]\ngpu_type = "x"\n[aliases.colour]\n', TOML) == [
        ("aliases.colour", None), ("aliases.gpu_type", None)]
    assert _problems('[aliases.gpu_type]\n"" = "V100"\n" a " = "A"\n"a" = "B"\n', TOML) == [
        ('aliases.gpu_type.""', None), ('aliases.gpu_type."a"', None)]


def test_round_trip_is_exact_in_both_formats() -> None:
    rates = (
        FileRate("onprem", "V100", Decimal("2.1"), datetime(2019, 1, 1, tzinfo=UTC), None,
                 'chargeback, "as agreed" \\ 2019 — ü'),
        FileRate("*", "A100-80GB-MIG-3G.40GB", Decimal("0.000001"), datetime(2019, 1, 1, 0, 0, 1, 5000, tzinfo=UTC),
                 datetime(2020, 1, 1, tzinfo=UTC), None),
        FileRate("aws", "H100", Decimal("999999999999.999999"), datetime(1970, 1, 1, tzinfo=UTC), None, "#1"),
    )
    for fmt in (CSV, TOML):
        text = render_rate_file(RateFile(rates), fmt)
        back = parse_rate_file(text, fmt)
        assert set(back.rates) == set(rates)
        assert render_rate_file(back, fmt) == text
    with_aliases = RateFile(rates, {"Tesla V100": "V100", 'we"ird': "X"}, {"On Prem": "onprem"})
    text = render_rate_file(with_aliases, TOML)
    assert parse_rate_file(text, TOML) == RateFile(
        tuple(sorted(rates, key=lambda r: (r.provider, r.gpu_type, r.valid_from))), with_aliases.gpu_type_aliases,
        with_aliases.provider_aliases)


def test_csv_export_defuses_formulas_and_import_reads_them_back() -> None:
    # A spreadsheet opening the export must not run a name or note as a formula (as the jobs' CSV export):
    # such cells get a leading `'`, which import takes off again, so export → import still round-trips.
    rate = FileRate("=hyperlink(\"http://x\")", "@V100", Decimal("1"), datetime(2019, 1, 1, tzinfo=UTC), None,
                    "-amortised, +power")
    text = render_rate_file(RateFile((rate,)), CSV)
    assert text == HEADER + ('"\'=hyperlink(""http://x"")",\'@V100,1.000000,2019-01-01T00:00:00Z,,'
                             '"\'-amortised, +power"\n')
    assert parse_rate_file(text, CSV).rates == (rate,)
    # A name that only starts with `'` is kept as it is.
    plain = HEADER + "'quoted,V100,1,2019-01-01T00:00:00Z,,\n"
    assert parse_rate_file(plain, CSV).rates[0].provider == "'quoted"


def test_render_writes_what_the_docs_show() -> None:
    card = RateFile((FileRate("onprem", "V100", Decimal("2.1"), datetime(2019, 1, 1, tzinfo=UTC), None, "x"),))
    assert render_rate_file(card, CSV) == HEADER + "onprem,V100,2.100000,2019-01-01T00:00:00Z,,x\n"
    assert render_rate_file(card, TOML).endswith(
        '[[rates]]\nprovider = "onprem"\ngpu_type = "V100"\nusd_per_gpu_hour = "2.100000"\n'
        'valid_from = 2019-01-01T00:00:00Z\nnote = "x"\n')
    with pytest.raises(ValueError, match="TOML"):
        render_rate_file(RateFile((), {"a": "b"}), CSV)


def test_files_by_name_with_bom_and_bad_bytes(tmp_path: Path) -> None:
    assert format_of(Path("card.CSV")) is CSV and format_of(Path("x/card.toml")) is TOML
    with pytest.raises(RateFileError, match=r"\.csv or \.toml"):
        format_of(Path("card.json"))
    good = tmp_path / "card.csv"
    good.write_bytes(b"\xef\xbb\xbf" + (HEADER + "onprem,V100,1,2019-01-01T00:00:00Z,,\n").encode())
    assert len(read_rate_file(good).rates) == 1
    bad = tmp_path / "card.txt"
    bad.write_bytes(HEADER.encode() + b"onprem,V\xff100,1,2019-01-01T00:00:00Z,,\n")
    with pytest.raises(RateFileError, match="not UTF-8"):
        read_rate_file(bad, CSV)
    with pytest.raises(RateFileError, match="cannot read"):
        read_rate_file(tmp_path / "missing.csv")


def test_problem_text() -> None:
    assert str(Problem("line 3", "note", "too long")) == "line 3, note: too long"
    assert str(Problem("line 3", None, "5 cells")) == "line 3: 5 cells"


def test_the_alibaba_example_card_reads_and_its_arithmetic_holds() -> None:
    """docs/alibaba-onprem-card.toml: valid, and each amortised figure is the stated formula, recomputed here:
    price / GPUs / (3 × 8,760 h × 0.8) + kW / GPUs × 0.10 USD/kWh × PUE 1.5, rounded half-even to 6 places."""
    from decimal import ROUND_HALF_EVEN

    card = read_rate_file(Path(__file__).resolve().parents[3] / "docs" / "alibaba-onprem-card.toml")
    rates = {r.gpu_type: r for r in card.rates}
    hours = Decimal(3 * 8760) * Decimal("0.8")

    def amortised(price: int, gpus: int, kw: str) -> Decimal:
        exact = Decimal(price) / gpus / hours + Decimal(kw) / gpus * Decimal("0.10") * Decimal("1.5")
        return exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)

    assert rates["P100"].usd_per_gpu_hour == amortised(129_000, 8, "3.2") == Decimal("0.826981")
    assert rates["V100M16"].usd_per_gpu_hour == amortised(149_000, 8, "3.5") == Decimal("0.951517")
    assert rates["V100M32"].usd_per_gpu_hour == amortised(399_000, 16, "10") == Decimal("1.279894")
    assert rates["T4"].usd_per_gpu_hour == Decimal("0.35") and rates["A10"].usd_per_gpu_hour == Decimal("1.29")
    assert {r.provider for r in card.rates} == {"alibaba-openb"}
    assert {r.valid_from for r in card.rates} == {datetime(2019, 1, 1, tzinfo=UTC)}
    assert all(r.valid_to is None and r.note for r in card.rates)
