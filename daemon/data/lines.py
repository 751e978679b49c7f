"""A CSV data file's physical lines in blocks: split in bulk, ``csv.reader`` only where CSV needs it.

A file that keeps to the data contract is plain text: no quote characters, lines ended by ``\\n``.
For such a line, ``line.split(",")`` is exactly the row ``csv.reader`` (default dialect) makes of it
(an empty line is the empty row), and splitting a 64 KiB block at once costs a fraction of reading
it line by line through ``csv.reader``. The first block holding a quote (a quoted cell may span
lines) or a carriage return (a lone ``\\r`` ends a line too) hands the rest of the file to
``csv.reader``, fed the same physical lines the text stream would give it, so such a file reads
row for row and line for line as before, only slower.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from itertools import count
from typing import Final, Protocol, TextIO

#: characters read per block: large enough that splitting dominates the per-block cost, small
#: enough that a truncated gzip stream still yields the rows before the cut
BLOCK_CHARS: Final = 1 << 16


class _CsvRows(Protocol):
    """What is read of ``csv.reader``: rows, and the physical line number of the last."""

    @property
    def line_num(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


class Block:
    """Consecutive rows of a file, with the line that ends each.

    Bulk (the usual case): ``text`` holds ``count`` whole lines joined by ``\\n`` (no final
    newline), one row each, the first of them physical line ``first``. Otherwise (``text`` None)
    ``rows`` came from ``csv.reader`` and ``ends[k]`` is the physical line ``rows[k]`` ends on, the
    line ``csv.reader.line_num`` names.
    """

    __slots__ = ("count", "ends", "first", "rows", "text")

    def __init__(
        self,
        *,
        text: str | None = None,
        count: int = 0,
        first: int = 0,
        rows: list[list[str]] | None = None,
        ends: list[int] | None = None,
    ) -> None:
        self.text = text
        self.count = count
        self.first = first
        self.rows = rows if rows is not None else []
        self.ends = ends if ends is not None else []

    def __len__(self) -> int:
        return len(self.rows) if self.text is None else self.count

    def pairs(self) -> Iterator[tuple[list[str], int]]:
        """``(row, line)`` for every row, in order: what the strict row checks read."""
        if self.text is None:
            return zip(self.rows, self.ends, strict=True)
        lines = self.text.split("\n")
        return zip([line.split(",") if line else [] for line in lines], count(self.first))

    def drop_first(self) -> Block:
        """The block without its first row (the header)."""
        if self.text is None:
            return Block(rows=self.rows[1:], ends=self.ends[1:])
        cut = self.text.find("\n")
        if cut < 0:
            return Block(text="", count=0, first=self.first + 1)
        return Block(text=self.text[cut + 1 :], count=self.count - 1, first=self.first + 1)


def _physical_lines(text: str, fh: TextIO) -> Iterator[str]:
    """``text`` then the rest of ``fh`` as the lines iterating ``fh`` (``newline=""``) would give."""
    while True:
        more = fh.read(BLOCK_CHARS)
        if not more:
            if text:
                yield from io.StringIO(text, newline="")
            return
        text += more
        # a final "\r" may be the first half of a "\r\n" still unread: it waits for the next read
        end = len(text) - 1 if text.endswith("\r") else len(text)
        cut = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
        if cut:
            yield from io.StringIO(text[:cut], newline="")
            text = text[cut:]


class LineReader:
    """Blocks of rows from a text stream opened with ``newline=""``, and how far the reading got."""

    __slots__ = ("_base", "_fh", "_lines", "_reader")

    def __init__(self, fh: TextIO) -> None:
        self._fh = fh
        self._lines = 0  # physical lines handed out in bulk blocks
        self._base = 0  # physical lines before csv.reader took over
        self._reader: _CsvRows | None = None

    @property
    def line_num(self) -> int:
        """Physical lines read so far, as ``csv.reader.line_num`` counts them.

        A bulk block counts once it is handed out; a partial line read ahead does not count, so a
        read error is reported on the line after the last row handed out.
        """
        if self._reader is not None:
            return self._base + self._reader.line_num
        return self._lines

    def blocks(self) -> Iterator[Block]:
        fh = self._fh
        limit = csv.field_size_limit()
        pending = ""
        # csv.reader refuses a cell over the field size limit; a bulk line is at most a block long
        # (or is checked below), so bulk splitting is only taken while no line can reach the limit
        if limit > BLOCK_CHARS:
            while True:
                chunk = fh.read(BLOCK_CHARS)
                if not chunk:
                    if pending:
                        self._lines += 1
                        yield Block(text=pending, count=1, first=self._lines)
                    return
                if '"' in chunk or "\r" in chunk:
                    pending += chunk
                    break
                text = pending + chunk
                cut = chunk.find("\n")
                if cut < 0:
                    pending = text
                    if len(pending) >= limit:
                        break
                    continue
                if len(pending) + cut >= limit:
                    pending = text
                    break
                cut = text.rfind("\n")
                pending = text[cut + 1 :]
                head = text[:cut]
                lines = head.count("\n") + 1
                first = self._lines + 1
                self._lines += lines
                yield Block(text=head, count=lines, first=first)
        self._base = self._lines
        reader: _CsvRows = csv.reader(_physical_lines(pending, fh))
        self._reader = reader
        base = self._base
        for row in reader:
            yield Block(rows=[row], ends=[base + reader.line_num])
