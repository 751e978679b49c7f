"""The pure half of the KIS adapter: numbers, dates, rows, fills, frames, AES, tr_ids, codes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from adapters.kis.config import KisConfig, tr_id
from adapters.kis.errors import KisConfigError, KisRequestError, classify
from adapters.kis.parsers import (
    NOTICE_FIELDS,
    FillState,
    decode,
    decrypt,
    encrypt,
    fill_delta,
    kst_ns,
    notice_fill,
    parse_data_frame,
    parse_decimal,
    parse_notices,
    pdno_of,
    rows_of,
    status_of,
)
from adapters.kis.schemas import CcldRow, OrderAnswer
from adapters.venue_errors import Outcome, UnknownVenueSymbolError, VenueMessageError
from engines.markets.specs import spec_for
from engines.model.enums import ReportedStatus, Side

SPEC = spec_for("krx:005930")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0000070000", D(70000)),
        ("+70000", D(70000)),
        ("-70800", D(-70800)),
        ("12.50", D("12.50")),
        ("0", D(0)),
    ],
)
def test_numbers_parse_strictly(text: str, value: D) -> None:
    assert parse_decimal(text, "x") == value


@pytest.mark.parametrize(
    "text", ["", " ", "7e3", "1,000", "NaN", "Infinity", "0x10", "++1", "1.", ".5", "１２"]
)
def test_garbage_numbers_are_refused(text: str) -> None:
    with pytest.raises(VenueMessageError):
        parse_decimal(text, "x")


def test_an_empty_number_is_zero_only_when_asked() -> None:
    assert parse_decimal("", "x", empty=D(0)) == 0


def test_kst_times() -> None:
    expected = datetime(2026, 1, 5, 0, 30, tzinfo=UTC).timestamp() * 1_000_000_000  # 09:30 KST
    assert kst_ns("20260105", "093000") == int(expected)
    with pytest.raises(VenueMessageError):
        kst_ns("2026015", "093000")


def test_symbols() -> None:
    assert pdno_of("krx:005930") == "005930"
    with pytest.raises(UnknownVenueSymbolError):
        pdno_of("bybit-spot:BTCUSDT")


def test_output_keys_are_read_in_either_case() -> None:
    upper = decode(
        b'{"rt_cd":"0","MSG_CD":"APBK0013","OUTPUT":{"ODNO":"0000000001","ORD_TMD":"093000"}}',
        OrderAnswer,
        "t",
    )
    lower = decode(
        b'{"rt_cd":"0","msg_cd":"APBK0013","output":{"odno":"0000000001","ord_tmd":"093000"}}',
        OrderAnswer,
        "t",
    )
    assert upper.output is not None and lower.output is not None
    assert (
        (upper.msg_cd, upper.output.odno) == (lower.msg_cd, lower.output.odno) == ("APBK0013", "0000000001")
    )
    assert decode(b'{"rt_cd":"0","new_field":[1,2]}', OrderAnswer, "t").output is None  # unknown fields pass


@pytest.mark.parametrize("raw", [b"not json", b"[1]", b'{"output": 5}'])
def test_malformed_bodies_are_typed_errors(raw: bytes) -> None:
    with pytest.raises(VenueMessageError):
        decode(raw, OrderAnswer, "t")


def _row(**kw: str) -> CcldRow:
    base = {"ord_dt": "20260105", "odno": "0000000007", "sll_buy_dvsn_cd": "02", "pdno": "005930",
            "ord_qty": "10", "ord_unpr": "70000", "ord_tmd": "093000", "ord_dvsn_cd": "00",
            "tot_ccld_qty": "0", "rmn_qty": "10"}  # fmt: skip
    base.update(kw)
    return CcldRow(**base)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, ReportedStatus.ACCEPTED),
        ({"tot_ccld_qty": "4", "rmn_qty": "6"}, ReportedStatus.PARTIALLY_FILLED),
        ({"tot_ccld_qty": "10", "rmn_qty": "0"}, ReportedStatus.FILLED),
        ({"cncl_yn": "Y", "rmn_qty": "0"}, ReportedStatus.CANCELED),
        ({"cncl_cfrm_qty": "6", "tot_ccld_qty": "4", "rmn_qty": "0"}, ReportedStatus.CANCELED),
        ({"rjct_qty": "10", "rmn_qty": "0"}, ReportedStatus.REJECTED),
        ({"rmn_qty": "0"}, ReportedStatus.EXPIRED),
    ],
)
def test_order_status_from_a_row(fields: dict[str, str], status: ReportedStatus) -> None:
    assert status_of(_row(**fields)) is status


def test_modify_and_cancel_requests_are_not_orders() -> None:
    rows = [_row(), _row(odno="0000000008", orgn_odno="0000000007")]
    assert [r.odno for r in rows_of(rows)] == ["0000000007"]


def test_fills_are_the_growth_of_the_cumulative_quantity() -> None:
    known = FillState(D(0), D(0))
    first = fill_delta(_row(tot_ccld_qty="4", tot_ccld_amt="280000", rmn_qty="6"), known, "c1", SPEC, 1)
    assert first is not None
    fill, known = first
    assert (fill.trade_id, fill.last_qty, fill.last_px, fill.cum_qty) == (
        "20260105-0000000007-4",
        D(4),
        D(70000),
        D(4),
    )
    assert fill.fee == D(4 * 70000) * SPEC.taker_fee_bps / 10000 and fill.fee_currency == "KRW"
    assert fill_delta(_row(tot_ccld_qty="4", tot_ccld_amt="280000"), known, "c1", SPEC, 2) is None
    second = fill_delta(_row(tot_ccld_qty="10", tot_ccld_amt="701200", rmn_qty="0"), known, "c1", SPEC, 3)
    assert second is not None
    assert (second[0].last_qty, second[0].last_px, second[0].cum_qty) == (D(6), D(70200), D(10))


def test_a_fill_averaging_several_prices_folds_into_an_order_exactly() -> None:
    """183,822 shares for 15,440,981 KRW: a quotient that does not terminate. Unrounded, its product
    with the quantity needs more digits than an order's exact fill sums have, and the fill was dropped."""
    from engines.model.enums import OrderType
    from engines.model.events import OrderAccepted, OrderFilled, OrderSubmitted
    from engines.orders.book import Orders

    found = fill_delta(
        _row(ord_qty="200000", tot_ccld_qty="183822", tot_ccld_amt="15440981"),
        FillState(D(0), D(0)),
        "c",
        SPEC,
        1,
    )
    assert found is not None
    fill = found[0]
    assert len(fill.last_px.as_tuple().digits) <= 28
    assert abs(fill.last_px * fill.last_qty - D(15440981)) < D("1e-15")
    orders = Orders()
    orders.apply(
        OrderSubmitted(
            ts_event=0,
            ts_init=0,
            strategy="s",
            client_order_id="c",
            instrument="krx:005930",
            side=Side.BUY,
            order_type=OrderType.MARKET,
            quantity=D(200000),
            venue="kis",
        )
    )
    orders.apply(OrderAccepted(ts_event=1, ts_init=1, client_order_id="c", venue_order_id="7"))
    orders.apply(
        OrderFilled(
            ts_event=2,
            ts_init=2,
            client_order_id="c",
            instrument="krx:005930",
            side=Side.BUY,
            trade_id=fill.trade_id,
            last_qty=fill.last_qty,
            last_px=fill.last_px,
            cum_qty=fill.cum_qty,
            fee=fill.fee,
            fee_currency=fill.fee_currency,
        )
    )
    assert orders.get("c").filled_qty == D(183822)  # type: ignore[union-attr]


def test_a_sell_fill_pays_the_transaction_tax() -> None:
    found = fill_delta(
        _row(sll_buy_dvsn_cd="01", tot_ccld_qty="10", tot_ccld_amt="700000"),
        FillState(D(0), D(0)),
        "c",
        SPEC,
        1,
    )
    assert found is not None and found[0].side is Side.SELL
    assert found[0].fee == D(700000) * (SPEC.taker_fee_bps + SPEC.sell_tax_bps) / 10000


# ── frames, notices and AES ──

KEY, IV = "0123456789abcdef0123456789abcdef", "fedcba9876543210"


def _notice(**kw: str) -> list[str]:
    values = dict.fromkeys(NOTICE_FIELDS, "")
    values.update({"ODER_NO": "0000000007", "SELN_BYOV_CLS": "02", "STCK_SHRN_ISCD": "005930",
                   "CNTG_QTY": "4", "CNTG_UNPR": "70000", "CNTG_YN": "2", "RFUS_YN": "0",
                   "ODER_QTY": "10"})  # fmt: skip
    values.update(kw)
    return [values[name] for name in NOTICE_FIELDS]


def test_data_frames_split_into_four() -> None:
    frame = parse_data_frame("1|H0STCNI0|001|abc|def")
    assert frame == (True, "H0STCNI0", 1, "abc|def")
    for bad in ("2|H0STCNI0|001|x", "0|H0STCNI0|x|y", "0|H0STCNI0|000|y", "{}"):
        with pytest.raises(VenueMessageError):
            parse_data_frame(bad)


def test_notices_by_position_with_extra_fields_and_several_records() -> None:
    one = [*_notice(), "NEW1", "NEW2"]
    two = [*_notice(ODER_NO="0000000008"), "NEW1", "NEW2"]
    notices = parse_notices("^".join(one + two), 2)
    assert [n.fields["ODER_NO"] for n in notices] == ["0000000007", "0000000008"]
    assert notices[0].extra == ("NEW1", "NEW2")
    with pytest.raises(VenueMessageError):
        parse_notices("^".join(_notice()[:20]), 1)
    with pytest.raises(VenueMessageError):
        parse_notices("^".join([*_notice(), "x"]), 2)


def test_a_notice_fill_is_numbered_like_a_rest_fill() -> None:
    (notice,) = parse_notices("^".join(_notice()), 1)
    fill = notice_fill(notice, ord_dt="20260105", cum_before=D(0), client_order_id="c", spec=SPEC, ts=1)
    rest = fill_delta(_row(tot_ccld_qty="4", tot_ccld_amt="280000"), FillState(D(0), D(0)), "c", SPEC, 1)
    assert fill is not None and rest is not None
    assert fill.trade_id == rest[0].trade_id and fill.last_px == rest[0].last_px
    (ack,) = parse_notices("^".join(_notice(CNTG_YN="1")), 1)
    assert notice_fill(ack, ord_dt="20260105", cum_before=D(0), client_order_id="c", spec=SPEC, ts=1) is None


def test_aes_payloads_decrypt_with_the_ack_key() -> None:
    plain = "^".join(_notice())
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(KEY.encode()), modes.CBC(IV.encode())).encryptor()
    cipher_text = base64.b64encode(enc.update(data) + enc.finalize()).decode()
    assert decrypt(cipher_text, KEY, IV) == plain
    assert decrypt(encrypt(plain, KEY, IV), KEY, IV) == plain
    with pytest.raises(VenueMessageError):
        decrypt(cipher_text, "f" * 32, IV)  # wrong key: bad padding or bytes
    with pytest.raises(VenueMessageError):
        decrypt("not base64!!", KEY, IV)
    with pytest.raises(VenueMessageError):
        decrypt(cipher_text, KEY[:16], IV)


# ── settings and codes ──


@pytest.mark.parametrize(
    ("real", "mock"),
    [("TTTC0012U", "VTTC0012U"), ("TTTC8434R", "VTTC8434R"), ("JTTT1002U", "VTTT1002U"),
     ("CTCA0903R", "VTCA0903R"), ("H0STCNI0", "H0STCNI9"), ("H0STCNT0", "H0STCNT0")],
)  # fmt: skip
def test_mock_transaction_ids(real: str, mock: str) -> None:
    assert tr_id(real, "real") == real
    assert tr_id(real, "mock") == mock


def test_settings_check_the_account() -> None:
    assert KisConfig(account="12345678").rest_root.endswith(":9443")
    assert KisConfig(environment="test").rest_root == "https://openapivts.koreainvestment.com:29443"
    with pytest.raises(KisConfigError):
        KisConfig(account="1234")
    with pytest.raises(KisConfigError):
        KisConfig(product="1")


@pytest.mark.parametrize(
    ("status", "rt_cd", "msg_cd", "outcome"),
    [
        (200, "0", "APBK0013", Outcome.OK),
        (500, "1", "EGW00201", Outcome.BACK_OFF),
        (403, None, "EGW00133", Outcome.BACK_OFF),
        (500, "1", "EGW00123", Outcome.UNKNOWN),
        (500, "1", "EGW00103", Outcome.HALT),
        (200, "1", "APBK0952", Outcome.REJECTED),
        (200, "1", "ZZZZ9999", Outcome.UNKNOWN),  # an unlisted code: query, never call it rejected
        (None, None, None, Outcome.UNKNOWN),
        (502, None, None, Outcome.UNKNOWN),
        (401, None, None, Outcome.HALT),
    ],
)
def test_codes_classify(status: int | None, rt_cd: str | None, msg_cd: str | None, outcome: Outcome) -> None:
    assert classify(status, rt_cd, msg_cd) is outcome


def test_a_refusal_carries_its_outcome() -> None:
    err = KisRequestError(200, "APBK0952", "주문가능금액을 초과", rt_cd="1")
    assert err.code == "VT803" and err.outcome is Outcome.REJECTED and "APBK0952" in err.message
