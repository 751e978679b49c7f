"""Bybit pure parsers: messages per second for ``publicTrade`` and ``execution`` frames.

Run on demand: ``.venv/bin/python tests/bench/venue_parse_bybit.py [--n N] [--json FILE]``. Each
phase parses the same recorded-style frame (raw bytes, as the WebSocket delivers it) ``N`` times
through :class:`adapters.bybit.parsers.BybitParser` and prints frames/s and events/s, wall clock
and CPU time of this process.
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

from adapters.bybit.parsers import BybitParser, SymbolMap

TRADE = json.dumps(
    {
        "topic": "publicTrade.BTCUSDT",
        "type": "snapshot",
        "ts": 1672304486868,
        "data": [
            {
                "T": 1672304486865,
                "s": "BTCUSDT",
                "S": "Buy",
                "v": "0.001",
                "p": "16578.50",
                "L": "PlusTick",
                "i": "20f43950-d8dd-5b31-9112-a178eb6023af",
                "BT": False,
                "seq": 1783284617,
            },
        ],
    }
).encode()

EXECUTION = json.dumps(
    {
        "id": "592324803b2785-26fa-4214-9963-bdd4727f07be",
        "topic": "execution",
        "creationTime": 1672364174455,
        "data": [
            {
                "category": "linear",
                "symbol": "BTCUSDT",
                "execFee": "0.005061",
                "execId": "7e2ae69c-4edf-5800-a352-893d52b446aa",
                "execPrice": "16578.5",
                "execQty": "0.001",
                "execType": "Trade",
                "execValue": "16.5785",
                "isMaker": False,
                "feeRate": "0.0006",
                "tradeIv": "",
                "markIv": "",
                "blockTradeId": "",
                "markPrice": "16578.1",
                "indexPrice": "",
                "underlyingPrice": "",
                "leavesQty": "0",
                "orderId": "f6e324ff-99c2-4e89-9739-3086e47f9381",
                "orderLinkId": "vt-s1-8",
                "orderPrice": "16600",
                "orderQty": "0.001",
                "orderType": "Limit",
                "stopOrderType": "UNKNOWN",
                "side": "Buy",
                "execTime": "1672364174443",
                "isLeverage": "0",
                "closedSize": "",
                "seq": 4688002127,
            },
        ],
    }
).encode()


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def run(name: str, fn: Callable[[], int], n: int) -> dict[str, float | int | str]:
    gc.collect()
    start, cpu = wall_clock(), _cpu()
    events = 0
    for _ in range(n):
        events += fn()
    wall, cpu_s = wall_clock() - start, _cpu() - cpu
    row: dict[str, float | int | str] = {
        "phase": name,
        "frames": n,
        "events": events,
        "wall_s": round(wall, 4),
        "cpu_s": round(cpu_s, 4),
        "frames_per_s": round(n / wall),
        "frames_per_cpu_s": round(n / cpu_s) if cpu_s > 0 else 0,
    }
    print(
        f"{name:12s} {n:>9,d} frames {row['frames_per_s']:>12,} frames/s "
        f"({row['frames_per_cpu_s']:,} per CPU s), {wall:.3f} s wall"
    )
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    parser = BybitParser(SymbolMap.from_symbols(["bybit-linear:BTCUSDT"]))
    rows = [
        run("publicTrade", lambda: len(parser.public("linear", TRADE, 0)), args.n),
        run("execution", lambda: len(parser.private(EXECUTION, 0)), args.n),
    ]
    if args.json is not None:
        args.json.write_text(json.dumps({"python": platform.python_version(), "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
