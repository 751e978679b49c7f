"""One codec for the whole union of events and commands, and the conversions between records.

:class:`Codec` encodes and decodes JSON and msgpack with the ``type`` tag; :func:`to_builtins` gives the
plain dict of reports; :func:`submitted` derives the journalled intent from its command and
:func:`with_seq` stamps an event with its journal sequence number.
"""

from __future__ import annotations

from typing import Any

import msgspec

from engines.model.commands import AnyCommand, Command, SubmitOrder
from engines.model.events import AnyEvent, Event, OrderSubmitted


class Codec:
    """Encode and decode events and commands as JSON or msgpack, with the ``type`` tag."""

    def __init__(self) -> None:
        self._json_enc = msgspec.json.Encoder()
        self._json_dec: msgspec.json.Decoder[AnyEvent | AnyCommand] = msgspec.json.Decoder(
            AnyEvent | AnyCommand
        )
        self._mp_enc = msgspec.msgpack.Encoder()
        self._mp_dec: msgspec.msgpack.Decoder[AnyEvent | AnyCommand] = msgspec.msgpack.Decoder(
            AnyEvent | AnyCommand
        )

    def to_json(self, record: Event | Command) -> bytes:
        return self._json_enc.encode(record)

    def from_json(self, data: bytes | str) -> AnyEvent | AnyCommand:
        return self._json_dec.decode(data)

    def to_msgpack(self, record: Event | Command) -> bytes:
        return self._mp_enc.encode(record)

    def from_msgpack(self, data: bytes) -> AnyEvent | AnyCommand:
        return self._mp_dec.decode(data)


def to_builtins(record: Event | Command) -> dict[str, Any]:
    """A plain dict with the ``type`` tag first, for JSON lines and reports."""
    out = msgspec.to_builtins(record)
    assert isinstance(out, dict)
    return out


def submitted(cmd: SubmitOrder) -> OrderSubmitted:
    """The intent to journal before ``cmd`` is sent: every field of the command, carried over whole,
    so a field added to both can never be dropped on the way to the journal."""
    return OrderSubmitted(**msgspec.structs.asdict(cmd))


def with_seq(event: Event, seq: int) -> Event:
    """The same event stamped with its journal sequence number."""
    return msgspec.structs.replace(event, seq=seq)
