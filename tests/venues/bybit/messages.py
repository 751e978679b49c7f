"""Bybit v5 frames as the venue documents them, shared by the parser benchmark and tests."""

from __future__ import annotations

import json

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
