"""Structured logs: one JSON object per line on stdout (journald keeps them), secrets scrubbed.

:func:`configure_logging` sets structlog up once per process; later calls change nothing (so a library
or a second entry point cannot swap the output or drop the redaction). The standard library's loggers
(aiohttp, websockets, asyncio) go through the same processors, so their lines are JSON and scrubbed too.

Redaction runs last before rendering, after exceptions are formatted into text, and removes:

- the value of any key named like a credential (api_key, api_secret, secret, token, signature, password,
  authorization, ...), case-insensitive, at any depth of nested dicts and lists;
- every occurrence of a registered secret value (:func:`register_secret`; the daemon registers the
  loaded credentials) inside any string, including event text and tracebacks;
- ``key=value`` pairs for credential-named keys inside strings (a signed query string in an error
  message) and ``Bearer`` tokens.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from daemon.credentials import Credentials

__all__ = [
    "REDACTED",
    "bind_context",
    "bound_context",
    "clear_context",
    "configure_logging",
    "get_logger",
    "is_secret_key",
    "redact",
    "redact_event",
    "redact_text",
    "register_credentials",
    "register_secret",
]

REDACTED = "***"

# Credential-like key names. ``sign`` only as a whole segment (X-BAPI-SIGN), so "design" stays readable.
_SECRET_KEY = re.compile(
    r"api[_-]?key|api[_-]?secret|app[_-]?key|app[_-]?secret|secret|token|signature|passw(or)?d|passphrase"
    r"|authorization|private[_-]?key|cookie|credential|(^|[^a-z])sign($|[^a-z])",
    re.IGNORECASE,
)
_KEY_IN_TEXT = (
    r"[A-Za-z0-9_.-]*(?:api[_-]?key|api[_-]?secret|app[_-]?key|app[_-]?secret|secret|token|signature"
    r"|passw(?:or)?d|passphrase|authorization|apikey|sign)[A-Za-z0-9_.-]*"
)
# key=value, key: value, "key": "value" inside free text
_PAIR_IN_TEXT = re.compile(
    rf"""(?P<key>["']?{_KEY_IN_TEXT}["']?\s*[=:]\s*["']?)(?P<value>[^\s&"',;}}]+)""", re.IGNORECASE
)
_BEARER = re.compile(r"(?P<key>\b(?:Bearer|Basic)\s+)(?P<value>[A-Za-z0-9._~+/=-]+)", re.IGNORECASE)


class _State:
    """The process-wide logging state: one stdout, one set of secrets."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.pattern: re.Pattern[str] | None = None
        self.configured = False


_lock = threading.Lock()
_state = _State()


def register_secret(value: str | None) -> None:
    """Scrub ``value`` wherever it appears in a log line from now on. Empty values are ignored."""
    if not value:
        return
    with _lock:
        if value in _state.secrets:
            return
        _state.secrets.add(value)
        # longest first, so a secret that contains another is removed whole
        ordered = sorted(_state.secrets, key=len, reverse=True)
        _state.pattern = re.compile("|".join(re.escape(s) for s in ordered))


def register_credentials(credentials: Credentials) -> None:
    """Register a venue's key and secret (and account, which identifies the holder) as secrets."""
    register_secret(credentials.api_key)
    register_secret(credentials.api_secret)
    register_secret(credentials.account)


def _forget_secrets_for_tests() -> None:
    with _lock:
        _state.secrets.clear()
        _state.pattern = None


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def redact_text(text: str) -> str:
    """``text`` with registered secrets, credential-named pairs and bearer tokens replaced."""
    pattern = _state.pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    # bearer tokens first: "Authorization: Bearer X" would otherwise lose only the word Bearer
    text = _BEARER.sub(lambda m: m.group("key") + REDACTED, text)
    return _PAIR_IN_TEXT.sub(lambda m: m.group("key") + REDACTED, text)


def redact(value: Any) -> Any:
    """A copy of ``value`` safe to log: dicts, lists and tuples walked, other objects turned into
    scrubbed text (their ``str`` might carry a secret)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {
            redact_text(str(k)): REDACTED if is_secret_key(str(k)) else redact(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    return redact_text(str(value))


def redact_event(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """The structlog processor: scrub every key and value of the event."""
    out: EventDict = {}
    for key, value in event_dict.items():
        out[key] = REDACTED if is_secret_key(key) else redact(value)
    return out


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
    ]


def _render_processors() -> list[Processor]:
    return [
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
        redact_event,
        structlog.processors.JSONRenderer(sort_keys=False),
    ]


def configure_logging(*, stream: TextIO | None = None, level: str = "info", force: bool = False) -> bool:
    """Set up structlog and the standard library's logging to write JSON lines to ``stream`` (stdout).

    Returns True when this call configured logging, False when it had been done already (``force``
    reconfigures, for tests that capture the output).
    """
    with _lock:
        if _state.configured and not force:
            return False
        out = stream if stream is not None else sys.stdout
        numeric = logging.getLevelNamesMapping().get(level.upper())
        if numeric is None:
            raise ValueError(f"log level {level!r} is not one of debug, info, warning, error, critical")
        structlog.configure(
            processors=[*_shared_processors(), *_render_processors()],
            wrapper_class=structlog.make_filtering_bound_logger(numeric),
            logger_factory=structlog.WriteLoggerFactory(file=out),
            cache_logger_on_first_use=not force,
        )
        formatter = structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_shared_processors(), structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_render_processors(),
            ],
        )
        handler = logging.StreamHandler(out)
        handler.setFormatter(formatter)
        handler.set_name("vibetrading")
        root = logging.getLogger()
        for old in [h for h in root.handlers if h.get_name() == "vibetrading"]:
            root.removeHandler(old)
        root.addHandler(handler)
        root.setLevel(numeric)
        # websockets logs each frame it sends at debug level, cut short: a signed subscribe frame's
        # signature would reach the log in part, where no redaction can recognise it
        logging.getLogger("websockets").setLevel(max(numeric, logging.INFO))
        _state.configured = True
        return True


def get_logger(**context: Any) -> Any:
    """A structlog logger with ``context`` bound (e.g. ``component="journal"``)."""
    return structlog.get_logger().bind(**context)


def bind_context(
    *, run: str | None = None, strategy: str | None = None, venue: str | None = None, **more: Any
) -> None:
    """Bind run / strategy / venue (and more) to every line logged from this task and its children."""
    values = {"run": run, "strategy": strategy, "venue": venue, **more}
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})


@contextmanager
def bound_context(**context: Any) -> Iterator[None]:
    """``context`` bound for the duration of a block (a venue's submission loop)."""
    with structlog.contextvars.bound_contextvars(**context):
        yield


def clear_context() -> None:
    structlog.contextvars.clear_contextvars()
