"""User-defined instruments: the file's contract, its strict checks, the lookup and a replay of one.

The end-to-end test replays bars of a market only the file defines (``mybroker:ABC``) and reads the
journal: the orders are refused or filled by the user's tick, lot and fees, not by a default.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.instruments import MAX_BPS, InstrumentsError, load, parse, resolve
from daemon.replay import JOURNAL_NAME, ReplayConfig, read_journal, replay
from engines.errors import ERROR_CODES
from engines.markets.specs import DEFAULT_SPECS, UnknownInstrumentError, UserInstruments, spec_for
from engines.model.events import InstrumentDefined, OrderFilled, OrderRejected, RunSettings, RunStarted
from engines.model.instruments import InstrumentKind

CONTRACT = b"""
[markets.mybroker]             # every symbol mybroker:<X>
quote = "USD"
kind = "spot"                  # spot | linear | inverse
tick = "0.01"
lot = "1"
min_notional = "0"
maker_fee_bps = "1"
taker_fee_bps = "2"
[symbols."mybroker:ABC"]       # overrides for one symbol
tick = "0.05"
"""


def user(text: bytes = CONTRACT) -> UserInstruments:
    return parse(text, file="inst.toml")


def refused(text: str) -> str:
    with pytest.raises(InstrumentsError) as info:
        parse(text.encode(), file="inst.toml")
    assert info.value.code == "VT136"
    assert info.value.file == "inst.toml"
    return info.value.message


MARKET = '[markets.m]\nquote = "USD"\nkind = "spot"\ntick = "0.01"\nlot = "1"\n'


# ── the lookup ───────────────────────────────────────────────────────────────────────────────────


def test_the_contract_keys_give_the_market_and_the_symbol_override() -> None:
    mine = user()
    abc = spec_for("mybroker:ABC", user=mine)
    assert (abc.symbol, abc.kind, abc.base, abc.quote, abc.settle) == (
        "mybroker:ABC",
        InstrumentKind.SPOT,
        "ABC",
        "USD",
        "USD",
    )
    assert (abc.tick_size, abc.lot_size, abc.min_qty, abc.min_notional) == (D("0.05"), D(1), D(1), D(0))
    assert (abc.maker_fee_bps, abc.taker_fee_bps, abc.multiplier) == (D(1), D(2), D(1))
    other = spec_for("mybroker:XYZ", user=mine)
    assert other.tick_size == D("0.01")
    assert other.base == "XYZ"
    with pytest.raises(UnknownInstrumentError):
        spec_for("mybroker:ABC")  # without the file: nothing knows the market


def test_a_symbol_section_overrides_a_built_in_spec_and_a_market_section_replaces_one() -> None:
    mine = user(b'[symbols."binance-spot:BTCUSDT"]\ntaker_fee_bps = "7.5"\nlot = "0.001"\n')
    btc = spec_for("binance-spot:BTCUSDT", user=mine)
    builtin = DEFAULT_SPECS["binance-spot:BTCUSDT"]
    assert btc.taker_fee_bps == D("7.5")
    assert btc.maker_fee_bps == builtin.maker_fee_bps
    assert (btc.lot_size, btc.min_qty) == (D("0.001"), D("0.001"))  # min_qty follows a larger lot
    assert spec_for("binance-usdm:BTCUSDT", user=mine) == DEFAULT_SPECS["binance-usdm:BTCUSDT"]
    # a KRX symbol given a tick gets a fixed grid instead of the bands
    krx = spec_for("krx:005930", user=user(b'[symbols."krx:005930"]\ntick = "5"\n'))
    assert (krx.tick_size, krx.tick_scheme) == (D(5), "fixed")
    replaced = spec_for("krx:005930", user=user(MARKET.replace("markets.m", "markets.krx").encode()))
    assert (replaced.quote, replaced.tick_scheme, replaced.sell_tax_bps) == ("USD", "fixed", D(0))


def test_an_inverse_market_settles_in_its_base_and_a_full_symbol_needs_no_market() -> None:
    inverse = user(
        b'[markets.inv]\nquote = "USD"\nkind = "inverse"\ntick = "0.5"\nlot = "1"\nmultiplier = "100"\n'
        b'[symbols."inv:BTCUSD"]\nbase = "BTC"\n'
        b'[symbols."solo:X"]\nquote = "EUR"\nkind = "linear"\ntick = "1"\nlot = "0.1"\nmin_qty = "0.5"\n'
    )
    btc = spec_for("inv:BTCUSD", user=inverse)
    assert (btc.kind, btc.base, btc.settle, btc.multiplier) == (InstrumentKind.INVERSE, "BTC", "BTC", D(100))
    solo = spec_for("solo:X", user=inverse)
    assert (solo.settle, solo.lot_size, solo.min_qty) == ("EUR", D("0.1"), D("0.5"))
    with pytest.raises(UnknownInstrumentError):
        spec_for("solo:Y", user=inverse)


def test_overrides_still_win_over_the_file() -> None:
    mine = user()
    pinned = spec_for("mybroker:ABC", user=mine)
    other = spec_for("mybroker:XYZ", user=mine)
    assert spec_for("mybroker:ABC", user=mine, overrides={"mybroker:ABC": other}) is other
    assert pinned.tick_size == D("0.05")


def test_the_unknown_market_error_names_the_flag_and_shows_a_minimal_file() -> None:
    with pytest.raises(UnknownInstrumentError) as info:
        spec_for("nowhere:ABC")
    hint = info.value.hint
    assert "--instruments FILE" in hint
    assert "[markets.nowhere]" in hint
    for key in ("quote", "kind", "tick", "lot"):
        assert f"\n    {key} = " in hint
    # the example in the hint is itself a valid file for the market it names
    example = "\n".join(line.strip() for line in hint.splitlines()[1:])
    assert spec_for("nowhere:ABC", user=user(example.encode())).tick_size == D("0.01")
    assert "--instruments" in ERROR_CODES["VT135"].hint


# ── the file's checks ────────────────────────────────────────────────────────────────────────────


def test_unknown_keys_are_refused_with_their_section() -> None:
    message = refused(MARKET + 'tick_size = "0.5"\n')
    assert message.startswith("[markets.m] unknown key `tick_size`")
    assert "tick, lot" in message
    assert "unknown top-level key 'market'" in refused('[market.m]\nquote = "USD"\n')
    assert '[symbols."m:A"] unknown key `fee`' in refused(MARKET + '[symbols."m:A"]\nfee = "1"\n')


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("tick = 0.01", "a TOML float is binary"),
        ('tick = "1e-2"', "plain digits"),
        ('tick = "-0.01"', "plain digits"),
        ('tick = "NaN"', "plain digits"),
        ('tick = "Infinity"', "plain digits"),
        ('tick = " 0.01"', "plain digits"),
        ('tick = "1_000"', "plain digits"),
        ('tick = "0"', "> 0"),
        ('lot = "0.000"', "> 0"),
        ('multiplier = "0"', "> 0"),
        ("tick = true", "decimal string"),
        (f'taker_fee_bps = "{MAX_BPS + 1}"', "0 to 1000 bps"),
        ('sell_tax_bps = "5000"', "0 to 1000 bps"),
        ('maker_fee_bps = "-1"', "plain digits"),
        ('kind = "future"', "allowed spot, equity, linear, inverse"),
        ("quote = 5", "a code of letters"),
        ('quote = "U S D"', "a code of letters"),
    ],
)
def test_values_are_checked_strictly(line: str, expected: str) -> None:
    key = line.split(" ", 1)[0]
    text = "\n".join(x for x in MARKET.splitlines() if not x.startswith(f"{key} ")) + "\n" + line + "\n"
    message = refused(text)
    assert message.startswith(f"[markets.m] {key}"), message
    assert expected in message


def test_integers_are_exact_and_accepted() -> None:
    mine = user(b'[markets.m]\nquote = "USD"\nkind = "spot"\ntick = 1\nlot = 10\n')
    assert spec_for("m:A", user=mine).lot_size == 10


def test_incomplete_sections_and_bad_names_are_refused() -> None:
    assert refused('[markets.m]\nquote = "USD"\ntick = "1"\n') == "[markets.m] lacks kind, lot"
    assert refused('[symbols."z:A"]\ntick = "1"\n') == '[symbols."z:A"] lacks quote, kind, lot'
    # a symbol of a built-in market or of a market of the file may give only what it changes
    parse(MARKET.encode() + b'[symbols."m:A"]\ntick = "1"\n[symbols."krx:005930"]\nlot = "10"\n')
    assert "not a market name" in refused(MARKET.replace("markets.m", 'markets."my broker"'))
    assert "not a symbol" in refused('[symbols."ABC"]\ntick = "1"\n')
    assert "must be a table" in refused("[markets]\nm = 1\n")


def test_toml_syntax_and_encoding_errors_say_where() -> None:
    with pytest.raises(InstrumentsError) as info:
        parse(b'[markets.m]\nquote = "USD"\ntick = \n', file="inst.toml")
    assert info.value.line == 3
    assert "not valid TOML" in info.value.message
    with pytest.raises(InstrumentsError) as info:
        parse(b"[markets.m]\n\xff\n", file="inst.toml")
    assert info.value.line == 2


def test_load_hashes_the_bytes_and_refuses_what_is_not_a_file(tmp_path: Path) -> None:
    path = tmp_path / "inst.toml"
    path.write_bytes(CONTRACT)
    loaded = load(path)
    assert loaded.sha256 == hashlib.sha256(CONTRACT).hexdigest()
    assert resolve(["mybroker:ABC"], loaded)["mybroker:ABC"].tick_size == D("0.05")
    for missing in (tmp_path / "nope.toml", tmp_path):
        with pytest.raises(InstrumentsError) as info:
            load(missing)
        assert info.value.message.startswith(f"--instruments {missing}:")
    with pytest.raises(UnknownInstrumentError) as unknown:
        resolve(["other:ABC"], loaded)
    assert unknown.value.file == str(path)  # the error says which file did not define it


# ── end to end: a replay of a market only the file knows ─────────────────────────────────────────

STRATEGY = '''
from decimal import Decimal

from engines.sdk import Bar, Context, OrderIntent, OrderType, Params, Side, Signal, SingleAssetStrategy


class P(Params, frozen=True, kw_only=True):
    symbol: str = "mybroker:ABC"


class Probe(SingleAssetStrategy[P]):
    """One order per bar: off the tick, off the lot, then two that the spec allows."""

    name = "probe"

    def on_start(self, ctx: Context) -> None:
        self.n = 0

    def on_bar(self, ctx: Context, bar: Bar) -> Signal:
        self.n += 1
        if self.n == 1:
            return [OrderIntent(side=Side.BUY, quantity=Decimal(3), order_type=OrderType.LIMIT,
                                limit=Decimal("10.02"))]
        if self.n == 2:
            return [OrderIntent(side=Side.BUY, quantity=Decimal("2.5"))]
        if self.n == 3:
            return [OrderIntent(side=Side.BUY, quantity=Decimal(3))]
        if self.n == 4:
            return [OrderIntent(side=Side.SELL, quantity=Decimal(3), order_type=OrderType.LIMIT,
                                limit=Decimal("10.35"))]
        return None


STRATEGY = Probe
'''

MINUTE = 60 * 10**9
T0 = 1_704_067_200 * 10**9  # 2024-01-01


def _write_case(tmp_path: Path) -> tuple[Path, Path, Path]:
    bars = tmp_path / "mybroker_ABC_bars1m_20240101.csv"
    rows = ["ts_ns,open,high,low,close,volume"]
    for i, (o, h, lo, c) in enumerate(
        [("10.00", "10.10", "9.90", "10.05")]
        + [("10.10", "10.20", "10.00", "10.15")] * 2
        + [("10.20", "10.40", "10.10", "10.30")] * 3
    ):
        rows.append(f"{T0 + i * MINUTE},{o},{h},{lo},{c},100")
    bars.write_text("\n".join(rows) + "\n")
    strategy = tmp_path / "probe.py"
    strategy.write_text(STRATEGY)
    instruments = tmp_path / "mybroker.toml"
    instruments.write_bytes(CONTRACT)
    return bars, strategy, instruments


def test_a_market_defined_only_in_the_file_replays_by_its_tick_lot_and_fees(tmp_path: Path) -> None:
    bars, strategy, instruments = _write_case(tmp_path)
    out = tmp_path / "run"
    result = replay(
        ReplayConfig(strategy=strategy, data=(bars,), out=out, quiet=True, instruments=instruments)
    )
    events = list(read_journal(out / JOURNAL_NAME))
    defined = [e.spec for e in events if isinstance(e, InstrumentDefined)]
    assert [(s.symbol, s.tick_size, s.lot_size, s.taker_fee_bps) for s in defined] == [
        ("mybroker:ABC", D("0.05"), D(1), D(2))
    ]
    rejected = [e.reason for e in events if isinstance(e, OrderRejected)]
    assert len(rejected) == 2
    assert "0.05" in rejected[0]  # 10.02 is off the symbol's tick (the market's 0.01 would allow it)
    assert "lot" in rejected[1]
    fills = [e for e in events if isinstance(e, OrderFilled)]
    assert len(fills) == 2
    for fill in fills:
        bps = D(2) if fill.liquidity.value == "taker" else D(1)
        assert fill.fee == fill.last_qty * fill.last_px * bps / 10_000
        assert fill.fee_currency == "USD"
        assert fill.last_qty == 3
        assert fill.last_px % D("0.05") == 0
    assert result.report.fills == 2
    marker = json.loads((out / ".vibetrading-run").read_text())
    assert marker["instruments_sha256"] == hashlib.sha256(CONTRACT).hexdigest()
    started = next(e for e in events if isinstance(e, RunStarted))  # the journal says which file it was
    assert isinstance(started.settings, RunSettings) and started.settings.instruments is not None
    assert started.settings.instruments.sha256 == hashlib.sha256(CONTRACT).hexdigest()
    assert started.settings.instruments.bytes == len(CONTRACT)


def test_without_the_file_replay_and_validate_name_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bars, strategy, instruments = _write_case(tmp_path)
    out = tmp_path / "run"
    argv = ["replay", str(strategy), "--data", str(bars), "--quiet", "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "VT135" in err
    assert "--instruments FILE" in err
    assert "[markets.mybroker]" in err
    assert not out.exists()
    assert main(["validate", str(strategy)]) == 1
    assert "--instruments FILE" in capsys.readouterr().err
    # and with it, both accept the strategy
    assert main(["validate", str(strategy), "--instruments", str(instruments)]) == 0
    assert "mybroker:ABC" in capsys.readouterr().out
    assert main([*argv, "--instruments", str(instruments), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fills"] == 2


def test_a_broken_file_stops_the_replay_before_it_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bars, strategy, instruments = _write_case(tmp_path)
    instruments.write_text(MARKET.replace("markets.m", "markets.mybroker").replace('"0.01"', "0.01"))
    out = tmp_path / "run"
    argv = ["replay", str(strategy), "--data", str(bars), "--quiet", "--out", str(out)]
    assert main([*argv, "--instruments", str(instruments)]) == 1
    err = capsys.readouterr().err
    assert "VT136" in err
    assert str(instruments) in err
    assert not out.exists()


def test_instruments_do_not_apply_to_a_journal_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inst.toml"
    path.write_bytes(CONTRACT)
    argv = ["replay", "--journal", str(tmp_path), "--instruments", str(path)]
    assert main(argv) == 2
    assert "--instruments applies to a replay of --data" in capsys.readouterr().err
