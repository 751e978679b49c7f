"""Market data files to event streams: the CSV data contract, typed data errors, the replay fixture.

This package's public API (the names below); its modules, in the order the data flows:
``errors``, ``files`` (names and opening), ``cells`` and ``csvfiles`` (reading CSV), ``merging``,
``chunks`` and ``fixture`` (the binary fixture), ``sources`` (what the replay and ``data import``
call).

Two ways in, one stream out (``engines.model.events`` ``QuoteTick | TradeTick | Bar``):

* **CSV** (the normalised files of ``../shared/data``): ``<venue>_<instrument>_<kind>_<period>.csv.gz``
  (or plain ``.csv``), read row by row and validated while streaming, so an error can come after some
  events were yielded. :func:`describe` parses the name, :func:`read_events` streams one file and
  :func:`merge` several, ordered by ``(ts_event, file index, row)``.
* **Fixture** (the replay's fast path): a directory with ``manifest.json`` and ``events.vtm``, a merged
  and validated stream in length-prefixed msgpack chunks, written by :func:`import_files` and read by
  :func:`read_fixture_chunks`. A chunk is columnar: one table of the decimal strings it uses, one of
  its symbols, and per event kind one column per field holding table indexes, so each distinct
  price string is parsed into a ``Decimal`` once per chunk rather than once per field.

docs/data.md is the contract: required columns per kind, timestamp conventions, ordering and tie
rules, the error codes VT500 to VT514 and the fixture format.

Every path is ``stat``-ed before it is opened and only regular files are read (VT514), so a FIFO
named like a data file cannot hang a replay. :func:`check_sources` (and :func:`sources_from_args`)
refuse the same data given twice (VT511) before any event is read; the merge refuses two sources
whose times overlap for one stream (VT512).
"""

from __future__ import annotations

from daemon.data.cache import DataCache, default_root
from daemon.data.csvfiles import read_events
from daemon.data.errors import DataError
from daemon.data.files import DataSource, describe
from daemon.data.fixture import (
    DEFAULT_BATCH,
    DEFAULT_CHUNK,
    EVENTS_MAGIC,
    EVENTS_NAME,
    FIXTURE_FORMAT,
    MANIFEST_NAME,
    Compression,
    Manifest,
    SourceFile,
    StreamInfo,
    read_fixture,
    read_fixture_chunks,
    read_manifest,
    write_fixture,
)
from daemon.data.merging import batched
from daemon.data.sources import (
    SourceInfo,
    check_sources,
    describe_source,
    import_files,
    load_any,
    merge,
    sources_from_args,
    symbols_in,
    warm_cache,
)

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_CHUNK",
    "EVENTS_MAGIC",
    "EVENTS_NAME",
    "FIXTURE_FORMAT",
    "MANIFEST_NAME",
    "Compression",
    "DataCache",
    "DataError",
    "DataSource",
    "Manifest",
    "SourceFile",
    "SourceInfo",
    "StreamInfo",
    "batched",
    "check_sources",
    "default_root",
    "describe",
    "describe_source",
    "import_files",
    "load_any",
    "merge",
    "read_events",
    "read_fixture",
    "read_fixture_chunks",
    "read_manifest",
    "sources_from_args",
    "symbols_in",
    "warm_cache",
    "write_fixture",
]
