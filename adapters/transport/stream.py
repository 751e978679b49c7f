"""The stream behind every port's ``events()``: one consumer, items in the order they were put, an
end after ``end()``, and a failure raised to the consumer where it happened in the producer.

Producers are callbacks and tasks of a venue client; they never await the consumer (a slow consumer
must not stall a WebSocket reader), so the queue is unbounded and ``put`` never blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

__all__ = ["EventStream"]

T = TypeVar("T")


class _End:
    pass


_END = _End()


class EventStream(Generic[T]):
    def __init__(self) -> None:
        self._queue: asyncio.Queue[T | BaseException | _End] = asyncio.Queue()

    def put(self, item: T) -> None:
        self._queue.put_nowait(item)

    def fail(self, exc: BaseException) -> None:
        """The consumer raises ``exc`` when it reaches this point of the stream."""
        self._queue.put_nowait(exc)

    def end(self) -> None:
        """The consumer's iteration ends when it reaches this point of the stream."""
        self._queue.put_nowait(_END)

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, BaseException):
                raise item
            yield item
