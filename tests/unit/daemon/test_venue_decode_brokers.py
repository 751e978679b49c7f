"""``vibetrading venue decode kis|kiwoom``: the brokers' frames and wrapped REST bodies, one output line
per event or one error line per unreadable input line, as for the crypto venues."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from adapters.kis.parsers import NOTICE_FIELDS, encrypt
from adapters.kiwoom.decode import API_IDS, KiwoomDecoder
from adapters.kiwoom.schemas import RealItem
from daemon.cli import VENUE_DECODERS, main
from daemon.venue_decode import VENUES, Decoder, decode_stream

KEY, IV = "abcdefghijklmnopqrstuvwxyz012345", "0123456789abcdef"
ORDR, ACNT = "POST /api/dostk/ordr", "POST /api/dostk/acnt"


def decode(venue: str, lines: Sequence[str | bytes]) -> tuple[int, list[dict[str, Any]]]:
    """The output lines (parsed) and the number of failed input lines."""
    out = io.StringIO()
    raw = [line.encode() if isinstance(line, str) else line for line in lines]
    failed = decode_stream(Decoder(venue), raw, out)
    return failed, [json.loads(line) for line in out.getvalue().splitlines()]


def run_cli(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, venue: str, lines: list[str]
) -> tuple[int, list[dict[str, Any]]]:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["venue", "decode", venue, str(path)])
    out, err = capsys.readouterr()
    assert err == "" and "Traceback" not in out
    return code, [json.loads(line) for line in out.splitlines()]


def pick(obj: dict[str, Any], *keys: str) -> tuple[Any, ...]:
    return tuple(obj[k] for k in keys)


def kinds(out: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(line, event type or error code) of each output line."""
    return [(o["line"], o.get("type") or o["code"]) for o in out]


def test_both_brokers_are_choices_of_the_command() -> None:
    assert {"kis", "kiwoom"} <= set(VENUES)
    assert VENUE_DECODERS == VENUES  # the CLI's import-free copy is the decoder's list


# ── KIS ──────────────────────────────────────────────────────────────────────────────────────────


def kis_notice(**kw: str) -> str:
    values = dict.fromkeys(NOTICE_FIELDS, "")
    values.update({"ODER_NO": "0000000007", "SELN_BYOV_CLS": "02", "STCK_SHRN_ISCD": "005930",
                   "CNTG_QTY": "4", "CNTG_UNPR": "70000", "CNTG_YN": "2", "RFUS_YN": "0",
                   "RCTF_CLS": "0", "ODER_QTY": "10"})  # fmt: skip
    values.update(kw)
    return "^".join(values[name] for name in NOTICE_FIELDS)


def kis_ack(tr: str = "H0STCNI0", key: str = KEY, iv: str = IV) -> str:
    return json.dumps({
        "header": {"tr_id": tr, "tr_key": "hts", "encrypt": "N", "added_later": 1},
        "body": {"rt_cd": "0", "msg_cd": "OPSP0000", "msg1": "SUBSCRIBE SUCCESS",
                 "output": {"iv": iv, "key": key}},
    })  # fmt: skip


def kis_trade_frame() -> str:
    trade = ["0"] * 46
    trade[0], trade[1], trade[2], trade[12], trade[21] = "005930", "093000", "70100", "7", "5"
    return "0|H0STCNT0|001|" + "^".join(trade)


def kis_book_frame() -> str:
    book = ["0"] * 59
    book[0], book[3], book[13], book[23], book[33] = "005930", "70100", "70000", "40", "30"
    return "0|H0STASP0|001|" + "^".join(book)


def test_kis_pipe_frames_give_ticks_with_their_line() -> None:
    failed, out = decode("kis", [kis_trade_frame(), "", kis_book_frame(), kis_trade_frame()])
    assert failed == 0
    trade, quote, second = out
    assert (trade["type"], trade["line"], trade["instrument"], trade["price"], trade["size"]) == (
        "TradeTick", 1, "krx:005930", "70100", "7",
    )  # fmt: skip
    assert trade["aggressor"] == "sell" and trade["trade_id"] == "005930-093000-1"
    assert second["line"] == 4 and second["trade_id"] == "005930-093000-2"  # numbered across lines
    assert pick(quote, "type", "line", "bid", "ask", "bid_size", "ask_size") == (
        "QuoteTick", 3, "70000", "70100", "30", "40",
    )  # fmt: skip
    assert list(trade)[:2] == ["type", "line"]


def test_kis_encrypted_notice_without_a_key_is_an_error_line_naming_why() -> None:
    fill = f"1|H0STCNI0|001|{encrypt(kis_notice(), KEY, IV)}"
    wrong = kis_ack(key="Z" * 32)
    failed, out = decode("kis", [fill, wrong, fill, kis_ack(), fill])
    assert failed == 2
    (no_key, bad_key, filled) = out
    assert (no_key["line"], no_key["code"]) == (1, "VT800")
    assert "encrypted" in no_key["message"] and "key" in no_key["message"]
    assert (bad_key["line"], bad_key["code"]) == (3, "VT800")
    assert "does not decrypt" in bad_key["message"]
    assert pick(filled, "type", "line", "client_order_id", "last_qty", "cum_qty") == (
        "OrderFilled", 5, "0000000007", "4", "4",
    )  # fmt: skip


def test_kis_plain_notice_with_more_fields_than_the_table_still_decodes() -> None:
    accepted = kis_notice(CNTG_YN="1", CNTG_QTY="10") + "^extra^fields"
    failed, out = decode("kis", [f"0|H0STCNI0|001|{accepted}"])
    assert failed == 0
    assert [(o["type"], o["venue_order_id"]) for o in out] == [("OrderAccepted", "0000000007")]


def test_kis_rest_order_answer_and_business_error() -> None:
    order = {"rest": "POST /uapi/domestic-stock/v1/trading/order-cash", "headers": {"tr_id": "TTTC0012U"},
             "body": {"rt_cd": "0", "msg_cd": "APBK0013", "msg1": "주문 전송 완료",
                      "output": {"KRX_FWDG_ORD_ORGNO": "91252", "ODNO": "0000117057", "ORD_TMD": "121052",
                                 "NEW_FIELD": "x"}}}  # fmt: skip
    refused = {"rest": "POST /uapi/domestic-stock/v1/trading/order-cash",
               "body": {"rt_cd": "1", "msg_cd": "APBK0952",
                        "msg1": "주문가능금액을 초과 했습니다"}}  # fmt: skip
    failed, out = decode("kis", [json.dumps(order), json.dumps(refused, ensure_ascii=False)])
    assert failed == 1
    accepted, error = out
    assert (accepted["type"], accepted["client_order_id"], accepted["venue_order_id"]) == (
        "OrderAccepted", "0000117057", "0000117057",
    )  # fmt: skip
    assert (error["line"], error["code"]) == (2, "VT803")
    assert "APBK0952" in error["message"] and "주문가능금액" in error["message"]


@pytest.mark.parametrize(
    "line",
    [
        '{"header": {"tr_id": "H0STCNT0"}, "body": {"rt_cd": "0",}}',  # trailing comma
        "{'header': {'tr_id': 'PINGPONG'}}",  # a Python dict printed, not JSON
        '{"rest": "POST /uapi/domestic-stock/v1/trading/order-cash", "body": {"rt_cd": "0", // ok\n}}',
        '{"header": {"tr_id": "PINGPONG"}',  # cut short
    ],
)
def test_kis_invalid_json_is_an_error_line_never_a_guess(line: str) -> None:
    failed, out = decode("kis", [line.replace("\n", " ")])
    assert failed == 1
    assert out == [{"line": 1, "code": "VT800", "message": out[0]["message"]}]


def test_kis_cli_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run_cli(
        capsys, tmp_path, "kis", [kis_trade_frame(), '{"header":{"tr_id":"PINGPONG"}}', "0|H0STXXX0|001|a"]
    )
    assert code == 1
    assert kinds(out) == [(1, "TradeTick"), (3, "VT800")]


# ── Kiwoom ───────────────────────────────────────────────────────────────────────────────────────


def real(kind: str, item: str, values: dict[str, str], **extra: object) -> str:
    push = {"type": kind, "name": "", "item": item, "values": values, **extra}
    return json.dumps({"trnm": "REAL", "data": [push]}, ensure_ascii=False)


def notice(status: str, **fids: str) -> dict[str, str]:
    values = {"9201": "1234567890", "9203": "0000012", "9001": "A005930", "913": status, "905": "+매수",
              "907": "2", "900": "10", "901": "70100", "902": "10", "904": "", "908": "093000",
              "919": ""}  # fmt: skip
    values.update(fids)
    return values


def wrapped(route: str, api_id: str | None, body: object) -> str:
    headers = {"cont-yn": "N", "next-key": ""} | ({"api-id": api_id} if api_id else {})
    return json.dumps({"rest": route, "headers": headers, "body": body}, ensure_ascii=False)


TRADE_0B = real("0B", "005930", {"20": "093000", "10": "-70100", "15": "+7", "27": "+70200", "28": "+70100"})
BOOK_0D = real("0D", "005930", {"21": "093001", "41": "+70200", "51": "-70100", "61": "40", "71": "30"})


def test_kiwoom_trade_and_book_pushes() -> None:
    failed, out = decode("kiwoom", [TRADE_0B, BOOK_0D, TRADE_0B.replace('"+7"', '"-3"')])
    assert failed == 0
    trade, quote, second = out
    assert {k: trade[k] for k in ("type", "line", "ts_event", "ts_init", "instrument", "aggressor")} == {
        "type": "TradeTick", "line": 1, "ts_event": 0, "ts_init": 0, "instrument": "krx:005930",
        "aggressor": "buy",
    }  # fmt: skip
    assert (trade["price"], trade["size"], trade["trade_id"]) == ("70100", "7", "005930-093000-1")
    assert (second["aggressor"], second["size"], second["trade_id"]) == ("sell", "3", "005930-093000-2")
    assert {k: quote[k] for k in ("type", "line", "bid", "bid_size", "ask", "ask_size", "ts_event")} == {
        "type": "QuoteTick", "line": 2, "bid": "70100", "bid_size": "30", "ask": "70200", "ask_size": "40",
        "ts_event": 0,
    }  # fmt: skip


def test_kiwoom_execution_notices_map_each_status() -> None:
    lines = [
        real("00", "", notice("접수")),
        real("00", "", notice("체결", **{"902": "6", "914": "+70100", "915": "4", "938": "30", "939": "70"})),
        real("00", "", notice("접수", **{"9203": "0000013", "904": "0000012", "905": "+매수취소"})),
        real(
            "00", "", notice("확인", **{"9203": "0000013", "904": "0000012", "902": "0", "905": "+매수취소"})
        ),
        real("00", "", notice("거부", **{"9203": "0000014", "919": "RC4025:주문가능금액 부족"})),
    ]
    failed, out = decode("kiwoom", lines)
    assert failed == 0
    assert kinds(out) == [
        (1, "OrderAccepted"),
        (2, "OrderFilled"),
        (4, "OrderCanceled"),
        (5, "OrderRejected"),
    ]
    accepted, fill, canceled, rejected = out
    assert (accepted["client_order_id"], accepted["venue_order_id"]) == ("0000012", "0000012")
    assert pick(fill, "instrument", "side", "trade_id", "last_qty", "last_px", "cum_qty", "fee") == (
        "krx:005930", "buy", "0000012-4", "4", "70100", "4", "100",
    )  # fmt: skip
    assert canceled["client_order_id"] == "0000012"  # the original order, not the cancel order
    assert (rejected["client_order_id"], rejected["reason"]) == ("0000014", "RC4025:주문가능금액 부족")


def test_kiwoom_notices_that_cannot_be_told_are_error_lines() -> None:
    lines = [
        real("00", "", notice("확인", **{"905": "-매도정정", "904": "0000012", "907": "1"})),  # modify
        real("00", "", notice("확인")),  # a confirmation naming no original order
        real("00", "", notice("체결")),  # an execution without quantity and price
        real("00", "", notice("보류")),  # a status no table has
        real("00", "", notice("접수", **{"9203": ""})),  # no order number
    ]
    failed, out = decode("kiwoom", lines)
    assert failed == 5
    assert kinds(out) == [(1, "VT802"), (2, "VT800"), (3, "VT800"), (4, "VT802"), (5, "VT800")]
    assert "9203" in out[4]["message"] and "904" in out[1]["message"]


def test_kiwoom_acks_give_nothing_and_refusals_are_vt804() -> None:
    lines = [
        '{"trnm":"LOGIN","return_code":0,"return_msg":"","sor_yn":"Y"}',
        '{"trnm":"PING"}',
        '{"trnm":"REG","return_code":0,"return_msg":""}',
        '{"trnm":"REMOVE","return_code":0}',
        '{"trnm":"LOGIN","return_code":100013,"return_msg":"토큰이 유효하지 않습니다"}',
        '{"trnm":"CNSRLST","return_code":0,"data":[]}',
        real("0A", "005930", {"10": "+70100"}),
        real("04", "", {"9001": "A005930", "930": "10"}),
        '{"return_code":0,"ord_no":"0000012"}',  # a REST body not wrapped
    ]
    failed, out = decode("kiwoom", lines)
    assert failed == 4
    assert kinds(out) == [(5, "VT804"), (6, "VT802"), (7, "VT802"), (9, "VT800")]
    assert "100013" in out[0]["message"] and "wrapped" in out[3]["message"]


def test_kiwoom_multi_push_frame_and_unknown_fields_are_tolerated() -> None:
    frame = {
        "trnm": "REAL",
        "new_top_level": {"x": 1},
        "data": [
            {"type": "0B", "name": "주식체결", "item": "005930_NX", "values": {"20": "100000", "10": "+70000",
             "15": "+1", "9081": "2", "1313": "whatever"}, "new_item_key": [1, 2]},
            {"type": "0B", "name": "주식체결", "item": "A000660", "values": {"20": "100000", "10": "+180000",
             "15": "-2"}},
        ],
    }  # fmt: skip
    body = {"ord_no": "0000015", "dmst_stex_tp": "KRX", "return_code": 0, "return_msg": "ok", "new": "y"}
    failed, out = decode("kiwoom", [json.dumps(frame, ensure_ascii=False), wrapped(ORDR, "kt10001", body)])
    assert failed == 0
    assert [(o["line"], o["type"], o.get("instrument")) for o in out] == [
        (1, "TradeTick", "krx:005930"),
        (1, "TradeTick", "krx:000660"),
        (2, "OrderAccepted", None),
    ]


def test_kiwoom_rest_order_answers_and_business_errors() -> None:
    lines = [
        wrapped(
            ORDR,
            "kt10000",
            {
                "ord_no": "00024",
                "dmst_stex_tp": "KRX",
                "return_code": 0,
                "return_msg": "매수주문이 완료되었습니다.",
            },
        ),
        wrapped(
            ORDR,
            "kt10003",
            {
                "ord_no": "00025",
                "base_orig_ord_no": "00024",
                "cncl_qty": "1",
                "return_code": 0,
                "return_msg": "",
            },
        ),
        wrapped(
            ORDR, "kt10000", {"return_code": 20, "return_msg": "[2000](RC4025:주문가능금액을 확인하세요)"}
        ),
        wrapped(ORDR, "kt10001", {"return_code": 2, "return_msg": "[1902:종목 정보가 없습니다]"}),
        wrapped(
            ACNT, "ka10075", {"return_code": 5, "return_msg": "허용된 요청 개수를 초과하였습니다[1700:...]"}
        ),
        wrapped(ORDR, "kt10000", {"return_code": 0, "return_msg": ""}),  # accepted without a number
    ]
    failed, out = decode("kiwoom", lines)
    assert failed == 4
    assert kinds(out) == [(1, "OrderAccepted"), (3, "VT803"), (4, "VT803"), (5, "VT803"), (6, "VT800")]
    assert out[0]["client_order_id"] == out[0]["venue_order_id"] == "00024"
    assert (
        "return_code=20" in out[1]["message"]
        and "RC4025" in out[1]["message"]
        and "(rejected)" in out[1]["message"]
    )
    assert "1902" in out[2]["message"] and "(rejected)" in out[2]["message"]
    assert "1700" in out[3]["message"] and "(back_off)" in out[3]["message"]


def test_kiwoom_rest_lists_give_reports_and_fills_with_the_streams_trade_ids() -> None:
    oso = {"return_code": 0, "return_msg": "", "oso": [
        {"ord_no": "0000012", "stk_cd": "A005930", "ord_stt": "접수", "ord_qty": "10", "ord_pric": "70100",
         "oso_qty": "6", "cntr_pric": "70100", "cntr_qty": "4", "io_tp_nm": "+매수", "trde_tp": "보통",
         "tm": "093000", "stex_tp_txt": "KRX"},
    ]}  # fmt: skip
    cntr = {"return_code": 0, "return_msg": "", "cntr": [
        {"ord_no": "0000012", "stk_cd": "005930", "io_tp_nm": "+매수", "ord_pric": "70100", "ord_qty": "10",
         "cntr_pric": "+70100", "cntr_qty": "4", "oso_qty": "6", "tdy_trde_cmsn": "30", "tdy_trde_tax": "70",
         "ord_stt": "체결", "ord_tm": "093000", "unknown": "x"},
    ]}  # fmt: skip
    stream_fill = real("00", "", notice("체결", **{"902": "6", "914": "+70100", "915": "4"}))
    nothing = [
        wrapped(ACNT, "kt00018", {"return_code": 0, "tot_pur_amt": "1", "acnt_evlt_remn_indv_tot": []}),
        wrapped(ACNT, "kt00001", {"return_code": 0, "entr": "000000100000000", "ord_alow_amt": "1"}),
        wrapped(
            "POST /oauth2/token", "au10001", {"return_code": 0, "token": "secret-token", "expires_dt": "1"}
        ),
    ]
    failed, out = decode(
        "kiwoom", [wrapped(ACNT, "ka10075", oso), wrapped(ACNT, "ka10076", cntr), stream_fill, *nothing]
    )
    assert failed == 0
    report, fill, streamed = out
    assert pick(report, "type", "client_order_id", "status", "filled_qty", "price", "side", "venue") == (
        "OrderStatusReport", "0000012", "partially_filled", "4", "70100", "buy", "kiwoom",
    )  # fmt: skip
    assert (fill["type"], fill["cum_qty"], fill["fee"]) == ("FillReport", "4", "100")
    assert fill["trade_id"] == streamed["trade_id"] == "0000012-4"  # one execution, one id on both paths
    assert "secret-token" not in json.dumps(out)


def test_kiwoom_rest_routing_needs_the_api_id_and_its_path() -> None:
    body = {"ord_no": "1", "return_code": 0}
    lines = [
        wrapped(ORDR, None, body),  # no api-id: never guessed from the body
        wrapped(ACNT, "kt10000", body),  # an order api-id on the account path
        wrapped("GET /api/dostk/ordr", "kt10000", body),  # Kiwoom answers POSTs only
        wrapped(ORDR, "ka99999", body),
        json.dumps({"rest": ORDR, "headers": {"API-ID": "kt10000"}, "body": body}),  # header case ignored
        json.dumps({"rest": ORDR, "headers": {"api-id": "kt10000"}, "body": "not an object"}),
        json.dumps({"rest": 5, "body": body}),
    ]
    failed, out = decode("kiwoom", lines)
    assert failed == 6
    assert kinds(out) == [(1, "VT802"), (2, "VT802"), (3, "VT802"), (4, "VT802"), (5, "OrderAccepted"),
                          (6, "VT800"), (7, "VT800")]  # fmt: skip
    assert "api-id" in out[0]["message"]


@pytest.mark.parametrize(
    "line",
    [
        '{"trnm":"PING",}',  # trailing comma
        "{'trnm': 'REAL', 'data': []}",  # a Python dict printed
        '{"trnm":"REAL", /* push */ "data":[]}',  # a comment, as some published examples carry
        '{"trnm":"REAL","data":[{"type":"0B","item":"005930","values":{"10":+70100}}]}',  # unquoted number
        '{"rest":"POST /api/dostk/ordr","headers":{"api-id":"kt10000"},"body":{"ord_no":"1",}}',
        '{"trnm":"REAL","data":[',
        "[1, 2]",
        "NaN",
        "\ufeff" + '{"trnm":"PING"}',  # a byte-order mark before the object
    ],
)
def test_kiwoom_invalid_json_is_an_error_line_never_a_guess(line: str) -> None:
    failed, out = decode("kiwoom", [line])
    assert failed == 1
    assert [(o["line"], o["code"]) for o in out] == [(1, "VT800")]


@pytest.mark.parametrize(
    ("values", "fid"),
    [
        ({"20": "093000", "10": "7O100", "15": "+7"}, "FID 10"),  # a letter O for a zero
        ({"20": "093000", "10": "+70100", "15": ""}, "FID 15"),
        ({"20": "093000", "10": "+70100", "15": "1,000"}, "FID 15"),
    ],
)
def test_kiwoom_numbers_are_read_strictly(values: dict[str, str], fid: str) -> None:
    failed, out = decode("kiwoom", [real("0B", "005930", values)])
    assert failed == 1 and out[0]["code"] == "VT800" and fid in out[0]["message"]


def test_kiwoom_push_values_must_be_strings() -> None:
    failed, out = decode("kiwoom", [TRADE_0B.replace('"-70100"', "-70100")])
    assert (failed, out[0]["code"]) == (1, "VT800")


def test_kiwoom_decoder_every_api_id_has_a_path_the_adapter_uses() -> None:
    paths = {path for path, _ in API_IDS.values()}
    assert paths == {"/api/dostk/ordr", "/api/dostk/acnt", "/oauth2/token", "/oauth2/revoke"}
    decoder = KiwoomDecoder()
    assert decoder.events(b'{"trnm":"REAL","data":[]}') == []
    assert RealItem().values == {}


def test_kiwoom_cli_file_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run_cli(capsys, tmp_path, "kiwoom", [TRADE_0B, "", '{"trnm":"PING"}', "{bad", BOOK_0D])
    assert code == 1
    assert kinds(out) == [(1, "TradeTick"), (4, "VT800"), (5, "QuoteTick")]
    assert all(list(o)[:2] in (["type", "line"], ["line", "code"]) for o in out)


def test_kiwoom_cli_stdin_and_exit_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = "\n".join([TRADE_0B, '{"trnm":"PING"}', real("00", "", notice("접수"))]) + "\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    assert main(["venue", "decode", "kiwoom", "-"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert kinds([json.loads(line) for line in out.splitlines()]) == [(1, "TradeTick"), (3, "OrderAccepted")]


def test_kiwoom_cli_stdin_default_with_an_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"trnm":"LOGIN","return_code":8005,"return_msg":"토큰"}\n'))
    assert main(["venue", "decode", "kiwoom"]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["code"] == "VT804"
