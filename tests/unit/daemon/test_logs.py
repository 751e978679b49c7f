"""Logs are JSON lines with run / strategy / venue bound, and no secret survives into them in any shape:
as a credential-named key, nested, inside a string, in an exception, through the stdlib loggers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from daemon import logs
from daemon.credentials import Credentials

KEY = "vtKEY-7f3a9c1e55d04b2a8e61"
SECRET = "vtSECRET-c0ffee1234567890abcdef"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.tokenbody.sig"
SIGNATURE = "9b1f0e2d3c4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344"
PASSWORD = "hunter2-correct-horse"
ALL = (KEY, SECRET, TOKEN, SIGNATURE, PASSWORD)


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs._forget_secrets_for_tests()
    logs.clear_context()
    logs.configure_logging(stream=stream, level="debug", force=True)
    yield stream
    logs.clear_context()
    logs._forget_secrets_for_tests()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_lines_are_json_with_bound_context(out: io.StringIO) -> None:
    logs.bind_context(run="run-1", strategy="my_strategy_a", venue="binance")
    log = logs.get_logger(component="driver")
    log.info("order sent", symbol="binance-spot:BTCUSDT", qty="0.001")
    with logs.bound_context(venue="bybit"):
        log.warning("reconnected", stream="market")
    log.debug("after block")
    got = lines(out)
    assert len(got) == 3
    first, second, third = got
    assert first["event"] == "order sent"
    assert first["level"] == "info"
    assert (first["run"], first["strategy"], first["venue"]) == ("run-1", "my_strategy_a", "binance")
    assert first["component"] == "driver"
    assert str(first["ts"]).endswith("Z")
    assert second["venue"] == "bybit"
    assert third["venue"] == "binance"


def test_configure_is_idempotent(out: io.StringIO) -> None:
    other = io.StringIO()
    assert logs.configure_logging(stream=other) is False
    logs.get_logger().info("still here")
    assert other.getvalue() == ""
    assert lines(out)[0]["event"] == "still here"
    root_handlers = [h for h in logging.getLogger().handlers if h.get_name() == "vibetrading"]
    assert len(root_handlers) == 1


def test_level_filters(out: io.StringIO) -> None:
    logs.configure_logging(stream=out, level="warning", force=True)
    log = logs.get_logger()
    log.info("hidden")
    log.error("shown")
    assert [line["event"] for line in lines(out)] == ["shown"]
    with pytest.raises(ValueError, match="log level"):
        logs.configure_logging(level="loud", force=True)


def test_no_secret_in_any_shape(out: io.StringIO) -> None:
    logs.register_credentials(Credentials(api_key=KEY, api_secret=SECRET, source="env:BINANCE"))
    logs.register_secret(TOKEN)
    logs.bind_context(run="r", strategy="s", venue="binance")
    log = logs.get_logger()
    # secrets as credential-named keys, in every spelling
    log.info("keys", api_key=KEY, API_SECRET=SECRET, Authorization=f"Bearer {TOKEN}", signature=SIGNATURE)
    log.info("password", password=PASSWORD, passwd=PASSWORD)
    # nested dicts and lists (request headers and params)
    log.info(
        "request",
        request={
            "headers": {"X-MBX-APIKEY": KEY, "X-BAPI-SIGN": SIGNATURE, "Content-Type": "application/json"},
            "params": [{"symbol": "BTCUSDT"}, {"signature": SIGNATURE}],
            "auth": {"Token": TOKEN},
        },
    )
    # values inside free text, under innocent keys
    log.info(f"signing with {SECRET} for key {KEY}", note=f"used {KEY}/{SECRET}")
    log.info("url", url=f"https://api.example/order?symbol=BTCUSDT&timestamp=1&signature={SIGNATURE}")
    log.info("header text", raw=f"Authorization: Bearer {TOKEN}; password={PASSWORD}")
    log.info("json text", body=f'{{"apiKey": "{KEY}", "sign": "{SIGNATURE}"}}')
    log.info("bytes", payload=f"secret={SECRET}".encode())
    # objects whose str() carries a secret, and exceptions (message and traceback)
    log.info("object", obj=_Leaky())
    try:
        raise RuntimeError(f"venue refused key {KEY} with signature={SIGNATURE}")
    except RuntimeError as exc:
        log.exception("refused", error=exc)
    # the standard library's loggers go through the same redaction
    logging.getLogger("aiohttp.client").warning("GET /api?apiKey=%s&signature=%s", KEY, SIGNATURE)
    try:
        raise ValueError(f"bad secret {SECRET}")
    except ValueError:
        logging.getLogger("websockets").exception("stream failed")

    text = out.getvalue()
    assert len(lines(out)) == 12
    for secret in ALL:
        assert secret not in text, secret
    # redaction leaves the line useful
    assert "application/json" in text
    assert "BTCUSDT" in text
    assert "RuntimeError" in text and "ValueError" in text
    assert logs.REDACTED in text


def test_a_secret_containing_another_is_removed_whole(out: io.StringIO) -> None:
    logs.register_secret("abcd")
    logs.register_secret("abcdef-long-secret")
    logs.get_logger().info("x abcdef-long-secret y")
    assert lines(out)[0]["event"] == "x *** y"


def test_empty_secret_is_ignored_and_innocent_keys_kept(out: io.StringIO) -> None:
    logs.register_secret("")
    logs.register_secret(None)
    logs.get_logger().info("design sign-off", design="ok", tokens_used=3, symbol="BTCUSDT")
    line = lines(out)[0]
    assert line["event"] == "design sign-off"
    assert line["design"] == "ok"
    assert line["symbol"] == "BTCUSDT"
    assert line["tokens_used"] == logs.REDACTED  # named like a token: scrubbed, conservatively


class _Leaky:
    def __str__(self) -> str:
        return f"Leaky(secret={SECRET})"
