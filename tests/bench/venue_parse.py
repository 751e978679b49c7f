"""Venue pure-parser throughput: messages per second, wire bytes → engine events (Binance and Bybit).

Run on demand: ``.venv/bin/python tests/bench/venue_parse.py [--n 1000000] [--json FILE]``.
Phases (one prebuilt msgspec Decoder each; the parsers build the engine events directly):

* ``bookTicker_spot``: :meth:`BinanceParser.quote` on a spot bookTicker → QuoteTick (target ≥ 1M/s),
* ``bookTicker_usdm``: the same on a USD-M bookTicker (with event and transaction times),
* ``bookTicker_decode_only``: the msgspec decode alone (the ceiling of this design),
* ``trade_spot``: :meth:`BinanceParser.trade` → TradeTick,
* ``executionReport_trade``: :meth:`BinanceParser.execution_report` on a TRADE → OrderFilled,
* ``market_frame_combined``: the generic dispatcher on a combined-stream bookTicker (two decodes),
* ``bybit_publicTrade``: :meth:`BybitParser.public` on a linear ``publicTrade`` frame → TradeTick,
* ``bybit_execution``: :meth:`BybitParser.private` on an ``execution`` frame → OrderFilled.

Figures are wall clock and CPU time of this process (steadier on a busy machine), best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from timeit import default_timer as wall_clock

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import msgspec

from adapters.binance.parsers import USDM, BinanceParser, SymbolMap
from adapters.binance.schemas import BookTicker
from adapters.bybit.parsers import BybitParser
from adapters.bybit.parsers import SymbolMap as BybitSymbols
from tests.venues.binance import messages as m
from tests.venues.bybit import messages as bybit_messages


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def run(name: str, fn: Callable[[bytes, int], object], raw: bytes, n: int, repeat: int) -> dict[str, object]:
    assert fn(raw, 1) is not None
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        gc.collect()
        start, cpu = wall_clock(), _cpu()
        for i in range(n):
            fn(raw, i)
        best_wall = min(best_wall, wall_clock() - start)
        best_cpu = min(best_cpu, _cpu() - cpu)
    return {
        "phase": name,
        "messages": n,
        "wall_s": round(best_wall, 4),
        "cpu_s": round(best_cpu, 4),
        "msgs_per_s_wall": round(n / best_wall),
        "msgs_per_s_cpu": round(n / best_cpu) if best_cpu else None,
        "ns_per_msg": round(best_wall / n * 1e9),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="messages per phase (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write the figures to FILE as JSON")
    args = ap.parse_args()

    spot = BinanceParser(SymbolMap("binance-spot", ["BNBUSDT", "BNBBTC", "ETHBTC"]))
    usdm = BinanceParser(SymbolMap(USDM, ["BNBUSDT"]))
    bybit = BybitParser(BybitSymbols.from_symbols(["bybit-linear:BTCUSDT"]))
    decoder = msgspec.json.Decoder(BookTicker)
    combined = b'{"stream":"bnbusdt@bookTicker","data":' + m.SPOT_BOOK_TICKER + b"}"
    n, k = args.n, max(1, args.n // 4)
    phases = [
        ("bookTicker_spot", spot.quote, m.SPOT_BOOK_TICKER, n),
        ("bookTicker_usdm", usdm.quote, m.USDM_BOOK_TICKER, n),
        ("bookTicker_decode_only", lambda raw, _i: decoder.decode(raw), m.SPOT_BOOK_TICKER, n),
        ("trade_spot", spot.trade, m.SPOT_TRADE, n),
        ("executionReport_trade", spot.execution_report, m.EXECUTION_REPORT_TRADE, k),
        ("market_frame_combined", spot.market_frame, combined, k),
        ("bybit_publicTrade", lambda raw, _i: bybit.public("linear", raw, 0), bybit_messages.TRADE, k),
        ("bybit_execution", lambda raw, _i: bybit.private(raw, 0), bybit_messages.EXECUTION, k),
    ]
    results = [run(name, fn, raw, count, args.repeat) for name, fn, raw, count in phases]
    print(
        f"python {platform.python_version()} msgspec {msgspec.__version__} on {platform.machine()}, "
        f"{os.cpu_count()} cpus, best of {args.repeat}"
    )
    print(f"{'phase':<26}{'messages':>10}{'msgs/s wall':>14}{'msgs/s cpu':>14}{'ns/msg':>9}")
    for r in results:
        print(
            f"{r['phase']:<26}{r['messages']:>10,}{r['msgs_per_s_wall']:>14,}{r['msgs_per_s_cpu'] or 0:>14,}"
            f"{r['ns_per_msg']:>9}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "python": platform.python_version(),
                    "msgspec": msgspec.__version__,
                    "cpus": os.cpu_count(),
                    "results": results,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
