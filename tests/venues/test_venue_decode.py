"""``vibetrading venue decode``: raw venue messages in, the parsers' events out as JSON lines."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from tests.venues.binance import messages as m

MS = 1_000_000


def rest(request: str, body: bytes | object, **extra: object) -> str:
    payload = json.loads(body) if isinstance(body, bytes) else body
    return json.dumps({"rest": request, "headers": {"X-MBX-USED-WEIGHT-1M": "1"}, "body": payload, **extra})


def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, venue: str, lines: list[str], *extra: str
) -> tuple[int, list[dict[str, Any]]]:
    path = tmp_path / "in.jsonl"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")
    code = main(["venue", "decode", venue, str(path), *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err == ""
    return code, [json.loads(line) for line in out.splitlines()]


def test_binance_spot_mixed_stream(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(
        capsys,
        tmp_path,
        "binance-spot",
        [
            m.SPOT_BOOK_TICKER.decode(),
            "",
            m.SUBSCRIBE_ACK.decode(),
            f'{{"stream":"bnbbtc@trade","data":{m.SPOT_TRADE.decode()}}}',
            m.EXECUTION_REPORT_TRADE.decode(),
            rest("GET /api/v3/order?symbol=LTCBTC&origClientOrderId=myOrder1", m.QUERY_ORDER),
            rest("POST /api/v3/order", m.NEW_ORDER_ACK),
            rest("DELETE /api/v3/order", m.CANCEL_ORDER),
        ],
    )
    assert code == 0
    assert [list(o)[:2] for o in out] == [["type", "line"]] * len(out)  # the tag first, as export prints
    quote, trade, fill, report, accepted, canceled = out
    assert quote == {
        "type": "QuoteTick",
        "line": 1,
        "ts_event": 0,  # spot bookTicker carries no time: ts_init is 0, and so is ts_event
        "ts_init": 0,
        "schema": 1,
        "seq": 0,
        "instrument": "binance-spot:BNBUSDT",
        "bid": "25.35190000",
        "bid_size": "31.21000000",
        "ask": "25.36520000",
        "ask_size": "40.66000000",
    }
    assert trade["type"] == "TradeTick"
    assert (trade["line"], trade["instrument"], trade["aggressor"], trade["trade_id"]) == (
        4,
        "binance-spot:BNBBTC",
        "sell",
        "12345",
    )
    assert trade["ts_event"] == trade["ts_init"] == 1672515782136 * MS
    assert fill["type"] == "OrderFilled"
    assert (fill["line"], fill["client_order_id"], fill["last_qty"], fill["fee_currency"]) == (
        5,
        "mUvoqJxFIILMdfAW5iGSOW",
        "0.40000000",
        "ETH",
    )
    assert fill["ts_init"] == 1499405658700 * MS  # the event time E
    assert report["type"] == "OrderStatusReport"
    assert (report["line"], report["client_order_id"], report["instrument"], report["status"]) == (
        6,
        "myOrder1",
        "binance-spot:LTCBTC",
        "accepted",
    )
    assert accepted == {
        "type": "OrderAccepted",
        "line": 7,
        "ts_event": 1507725176595 * MS,
        "ts_init": 1507725176595 * MS,
        "schema": 1,
        "seq": 0,
        "client_order_id": "6gCrw2kRUAF9CvJDGP16IP",
        "venue_order_id": "28",
    }
    assert (canceled["type"], canceled["line"], canceled["client_order_id"]) == (
        "OrderCanceled",
        8,
        "myOrder1",
    )


def test_binance_full_new_order_gives_accepted_fills_and_end(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, tmp_path, "binance-spot", [rest("POST /api/v3/order", m.NEW_ORDER_FULL)])
    assert code == 0
    assert [o["type"] for o in out] == ["OrderAccepted"] + ["OrderFilled"] * 5
    assert [o["cum_qty"] for o in out[1:]] == [
        "1.00000000",
        "6.00000000",
        "8.00000000",
        "9.00000000",
        "10.00000000",
    ]
    assert {o["line"] for o in out} == {1}


def test_binance_usdm_stream_and_rest(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(
        capsys,
        tmp_path,
        "binance-usdm",
        [
            m.USDM_BOOK_TICKER.decode(),
            m.ORDER_TRADE_UPDATE_TRADE.decode(),
            m.LISTEN_KEY_EXPIRED.decode(),
            rest("GET /fapi/v1/order", m.USDM_QUERY_ORDER),
            rest("GET /api/v3/order", m.QUERY_ORDER),  # the spot path is not USD-M's
        ],
    )
    assert code == 1
    quote, fill, control, report, wrong = out
    assert (quote["type"], quote["instrument"], quote["ts_event"]) == (
        "QuoteTick",
        "binance-usdm:BNBUSDT",
        1568014460891 * MS,
    )
    assert (fill["type"], fill["instrument"], fill["client_order_id"]) == (
        "OrderFilled",
        "binance-usdm:BTCUSDT",
        "TEST",
    )
    assert control == {
        "type": "StreamControl",
        "line": 3,
        "kind": "listen_key_expired",
        "ts_event": 1576653824250 * MS,
        "detail": "",
    }
    assert (report["type"], report["order_type"], report["client_order_id"]) == (
        "OrderStatusReport",
        "stop",
        "abc",
    )
    assert wrong == {"line": 5, "code": "VT802", "message": "no decoder for REST GET /api/v3/order"}


def test_binance_trade_rows_without_client_ids_and_refusals(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(
        capsys,
        tmp_path,
        "binance-spot",
        [
            rest("GET /api/v3/myTrades", m.MY_TRADES),
            rest("GET /api/v3/myTrades", []),
            rest("POST /api/v3/order", m.DUPLICATE_ORDER),
            '{"id":"x","status":400,"error":{"code":-1102,"msg":"bad"}}',
        ],
    )
    assert code == 1
    trades, refused, ws = out
    assert (trades["line"], trades["code"]) == (1, "VT802")
    assert "no client order id" in trades["message"] and "100234" in trades["message"]
    assert (refused["line"], refused["code"]) == (3, "VT803")
    assert "-2010" in refused["message"]
    assert (ws["line"], ws["code"]) == (4, "VT804")


def test_hostile_lines_are_typed_and_never_crash(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(
        capsys,
        tmp_path,
        "binance-spot",
        [
            "not json",
            m.SPOT_TRADE.decode()[:40],  # a truncated frame
            "[1, 2, 3]",
            '"a string"',
            "\udcff\udcfe\x00garbage",  # binary garbage, not even UTF-8
            rest("GET /api/v3/nonsense", {}),
            '{"rest": 5, "body": {}}',
            '{"rest": "GET /api/v3/order", "body": {"symbol": "X"}}',
            '{"e":"executionReport","x":"WEIRD"}',
            '{"u":1,"s":"A B","b":"1","B":"1","a":"1","A":"1"}',
            '{"e":"trade","E":1,"s":"BNBBTC","t":1,"p":"NaN-ish","q":"1","T":1,"m":true}',
            '{"data":' * 5000 + '{"e":"executionReport"}' + "}" * 5000,  # deeper than Python recurses
            "",
            '{"result":null,"id":7,"extra":"ignored"}',
        ],
    )
    assert code == 1
    assert [(o["line"], o["code"]) for o in out] == [
        (1, "VT800"),
        (2, "VT800"),
        (3, "VT800"),
        (4, "VT800"),
        (5, "VT800"),
        (6, "VT802"),
        (7, "VT800"),
        (8, "VT800"),
        (9, "VT800"),
        (10, "VT801"),
        (11, "VT800"),
        (12, "VT800"),
    ]
    assert all(set(o) == {"line", "code", "message"} for o in out)
    assert "truncated" in out[1]["message"]
    assert "not a JSON object" in out[2]["message"]
    assert out[5]["message"] == "no decoder for REST GET /api/v3/nonsense"
    assert out[11]["message"].startswith("RecursionError: ")  # an unexpected exception: its type and message


BYBIT_TRADE = {
    "topic": "publicTrade.BTCUSDT",
    "type": "snapshot",
    "ts": 1672304486868,
    "data": [{"T": 1672304486865, "s": "BTCUSDT", "S": "Buy", "v": "0.001", "p": "16578.50", "i": "t-1"}],
}


def bybit_book(kind: str, b: list[list[str]], a: list[list[str]], u: int) -> str:
    return json.dumps(
        {
            "topic": "orderbook.1.ETHUSDC",
            "type": kind,
            "ts": 1672304484978,
            "cts": 1672304484976,
            "data": {"s": "ETHUSDC", "b": b, "a": a, "u": u},
        }
    )


ORDER_ROW = {
    "symbol": "XRPUSDT",
    "orderId": "fd43",
    "orderLinkId": "vt-s1-7",
    "side": "Buy",
    "orderType": "Limit",
    "price": "0.5",
    "qty": "10",
    "timeInForce": "GTC",
    "orderStatus": "New",
    "cancelType": "UNKNOWN",
    "rejectReason": "EC_NoError",
    "cumExecQty": "0",
    "avgPrice": "",
    "createdTime": "1672364262444",
    "updatedTime": "1672364262457",
    "category": "linear",
}
EXEC_ROW = {
    "category": "spot",
    "symbol": "BTCUSDT",
    "execFee": "0.00001",
    "execId": "e-1",
    "execPrice": "16000",
    "execQty": "0.01",
    "execType": "Trade",
    "isMaker": True,
    "leavesQty": "0",
    "orderId": "o-1",
    "orderLinkId": "vt-s1-8",
    "orderQty": "0.01",
    "side": "Buy",
    "execTime": "1672364174443",
}


def envelope(result: object, ret_code: int = 0) -> dict[str, object]:
    return {
        "retCode": ret_code,
        "retMsg": "OK" if not ret_code else "bad",
        "result": result,
        "time": 1672364300000,
    }


def test_bybit_mixed_stream(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(
        capsys,
        tmp_path,
        "bybit",
        [
            json.dumps(BYBIT_TRADE),
            '{"success":true,"ret_msg":"pong","conn_id":"0970e817","op":"ping"}',
            bybit_book("snapshot", [["100", "1"]], [["101", "2"]], 10),
            bybit_book("delta", [], [["100.5", "3"]], 11),  # the top of book carries across lines
            json.dumps({"topic": "order", "creationTime": 1672364262474, "data": [ORDER_ROW]}),
            json.dumps({"topic": "execution", "creationTime": 1672364174455, "data": [EXEC_ROW]}),
            rest(
                "GET /v5/order/realtime?category=linear",
                envelope({"category": "linear", "list": [ORDER_ROW]}),
            ),
            rest("GET /v5/execution/list", envelope({"category": "spot", "list": [EXEC_ROW]})),
            rest("POST /v5/order/create", envelope({"orderId": "o-2", "orderLinkId": "vt-s1-9"})),
            rest("POST /v5/order/cancel", envelope({}, ret_code=110001)),
            rest("GET /v5/position/list", envelope({})),
            '{"success":false,"ret_msg":"Params Error","op":"subscribe"}',
        ],
    )
    assert code == 1
    trade, q1, q2, accepted, fill, report, fill_report, refused, unknown, ws = out
    assert (trade["type"], trade["line"], trade["instrument"], trade["ts_init"]) == (
        "TradeTick",
        1,
        "bybit-linear:BTCUSDT",
        1672304486868 * MS,
    )
    assert (q1["line"], q1["instrument"], q1["ask"]) == (3, "bybit-linear:ETHUSDC", "101")
    assert (q2["line"], q2["bid"], q2["ask"], q2["ask_size"]) == (4, "100", "100.5", "3")
    assert (accepted["type"], accepted["client_order_id"], accepted["venue_order_id"]) == (
        "OrderAccepted",
        "vt-s1-7",
        "fd43",
    )
    assert (fill["type"], fill["instrument"], fill["fee_currency"], fill["liquidity"]) == (
        "OrderFilled",
        "bybit-spot:BTCUSDT",
        "BTC",
        "maker",
    )
    assert (report["type"], report["line"], report["instrument"], report["ts_init"]) == (
        "OrderStatusReport",
        7,
        "bybit-linear:XRPUSDT",
        1672364300000 * MS,
    )
    assert (fill_report["type"], fill_report["line"], fill_report["cum_qty"]) == ("FillReport", 8, "0.01")
    assert (refused["line"], refused["code"]) == (10, "VT803")
    assert unknown == {"line": 11, "code": "VT802", "message": "no decoder for REST GET /v5/position/list"}
    assert (ws["line"], ws["code"]) == (12, "VT804")


def test_bybit_category_option_names_public_frames(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, tmp_path, "bybit", [json.dumps(BYBIT_TRADE)], "--category", "spot")
    assert code == 0
    assert out[0]["instrument"] == "bybit-spot:BTCUSDT"


def test_bybit_unmappable_category_is_vt801(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    row = {**ORDER_ROW, "category": "inverse", "orderStatus": "New"}
    frame = {"topic": "execution", "data": [{**EXEC_ROW, "category": "option"}]}
    code, out = run(
        capsys,
        tmp_path,
        "bybit",
        [json.dumps(frame), rest("GET /v5/order/history", envelope({"list": [{**row, "category": ""}]}))],
    )
    assert code == 1
    assert [(o["line"], o["code"]) for o in out] == [(1, "VT801"), (2, "VT801")]


def test_stdin_dash(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\n".join([m.SPOT_TRADE, b'{"result":null,"id":1}', b"\xff\xfe"]) + b"\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    code = main(["venue", "decode", "binance-spot", "-"])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and err == ""
    assert [(o.get("type"), o["line"]) for o in lines] == [("TradeTick", 1), (None, 3)]
    assert lines[1]["code"] == "VT800"


def test_stdin_default_and_text_stream(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(m.SPOT_TRADE.decode() + "\n\n"))
    assert main(["venue", "decode", "binance-spot"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["type"] == "TradeTick"


def test_only_events_or_nothing_exit_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run(
        capsys, tmp_path, "bybit", ['{"op":"pong","success":true}', "   ", '{"op":"auth","success":true}']
    )
    assert (code, out) == (0, [])


def test_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["venue", "decode", "binance-spot", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["venue", "decode", "kraken"])
    assert exc.value.code == 2
