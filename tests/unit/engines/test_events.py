"""The event model: one tagged union, one codec, JSON and msgpack round trips for every type."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec
import pytest

from engines.model.codec import Codec, submitted, to_builtins, with_seq
from engines.model.commands import AnyCommand, CancelOrder, QueryOrder, SubmitOrder
from engines.model.enums import OrderType, Side
from engines.model.events import SCHEMA_VERSION, AnyEvent, Event
from tests.contract.journal_contract import every_event_type

CODEC = Codec()


def _union_members(union: object) -> set[type]:
    return set(getattr(union, "__args__", ()))


def test_every_event_class_is_in_the_union_and_sampled() -> None:
    members = _union_members(AnyEvent)
    sampled = {type(e) for e in every_event_type()}
    assert sampled == members


@pytest.mark.parametrize("event", every_event_type(), ids=lambda e: type(e).__name__)
def test_event_round_trips_through_json_and_msgpack(event: Event) -> None:
    assert CODEC.from_json(CODEC.to_json(event)) == event
    assert CODEC.from_msgpack(CODEC.to_msgpack(event)) == event


@pytest.mark.parametrize("event", every_event_type(), ids=lambda e: type(e).__name__)
def test_json_carries_type_tag_times_and_schema(event: Event) -> None:
    raw = json.loads(CODEC.to_json(event))
    assert raw["type"] == type(event).__name__
    assert {"seq", "ts_event", "ts_init", "schema"} <= raw.keys()
    assert raw["schema"] == SCHEMA_VERSION
    assert to_builtins(event)["type"] == type(event).__name__


def test_money_is_encoded_as_exact_decimal_strings() -> None:
    order = SubmitOrder(
        ts_event=1,
        ts_init=1,
        strategy="s",
        venue="sim",
        client_order_id="c",
        instrument="krx:005930",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("10"),
        price=Decimal("71200.0"),
    )
    raw = json.loads(CODEC.to_json(order))
    assert raw["price"] == "71200.0"  # trailing zero kept: no float ever touched it


def test_commands_round_trip() -> None:
    leg = SubmitOrder(
        ts_event=1,
        ts_init=1,
        strategy="arb",
        venue="sim",
        client_order_id="arb-1",
        instrument="binance-spot:BTCUSDT",
        side=Side.SELL,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.001"),
        arb_id="a1",
        leg=0,
        aligned_ts_ns=(1, 2),
    )
    commands: list[AnyCommand] = [
        leg,
        CancelOrder(
            ts_event=2,
            ts_init=2,
            strategy="arb",
            venue="sim",
            client_order_id="arb-1",
            instrument=leg.instrument,
        ),
        QueryOrder(
            ts_event=3,
            ts_init=3,
            strategy="arb",
            venue="binance",
            client_order_id="arb-1",
            instrument=leg.instrument,
            side=leg.side,
            order_type=leg.order_type,
            quantity=leg.quantity,
        ),
    ]
    for command in commands:
        assert CODEC.from_json(CODEC.to_json(command)) == command


def test_events_are_frozen_and_seq_is_stamped_by_copy() -> None:
    event = every_event_type()[0]
    with pytest.raises(AttributeError):
        event.seq = 5  # type: ignore[misc]
    stamped = with_seq(event, 7)
    assert (stamped.seq, event.seq) == (7, 0)


def test_unknown_type_tag_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        CODEC.from_json(b'{"type": "OrderTeleported", "ts_event": 1, "ts_init": 1}')


def test_the_journalled_intent_carries_every_field_of_the_command() -> None:
    cmd = SubmitOrder(
        ts_event=3,
        ts_init=4,
        strategy="arb",
        venue="sim",
        client_order_id="arb-7",
        instrument="binance-usdm:BTCUSDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.002"),
        price=Decimal("61000.1"),
        reduce_only=True,
        arb_id="arb-1",
        leg=1,
        aligned_ts_ns=(10, 12),
    )
    intent = submitted(cmd)
    assert msgspec.structs.asdict(cmd).items() <= msgspec.structs.asdict(intent).items()
    assert intent.seq == 0
