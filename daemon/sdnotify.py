"""A small sd_notify(3) client: tell systemd the daemon is ready, alive, stopping, and what it is doing.

systemd passes a unix datagram socket in ``$NOTIFY_SOCKET`` to a ``Type=notify`` service (a file path,
or ``@name`` for a socket in the abstract namespace); each message is one datagram of ``KEY=VALUE``
lines. Without ``$NOTIFY_SOCKET`` (a run from a shell, the tests) every call is a no-op.

A notification must never take the trading loop down or stall it: the socket is non-blocking, and a
failure (systemd gone, its queue full) is logged once per distinct error, kept in ``last_error`` and
reported as ``False``; it is never raised. A watchdog that stops reaching systemd ends in systemd
killing the service, which is the intended outcome of a daemon that cannot prove it is alive.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping
from typing import Final

__all__ = ["Notifier"]

log: Final = logging.getLogger(__name__)


def _address(raw: str) -> str | bytes | None:
    """The sendto() address of ``$NOTIFY_SOCKET``: an absolute path, or ``@name`` in the abstract
    namespace (a leading NUL byte). Anything else is what systemd never sets: ``None``."""
    if raw.startswith("@") and len(raw) > 1:
        return b"\0" + raw[1:].encode()
    if raw.startswith("/"):
        return raw
    return None


def _positive_int(raw: str | None) -> int | None:
    if raw is None or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value > 0 else None


class Notifier:
    """Sends sd_notify messages to one socket address; ``Notifier(None)`` does nothing."""

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        self.socket_name = address
        self._address = None if address is None else _address(address)
        if address is not None and self._address is None:
            log.warning("NOTIFY_SOCKET=%r is neither an absolute path nor @abstract: not notifying", address)
        self._watchdog_usec = watchdog_usec
        self._sock: socket.socket | None = None
        self.last_error: OSError | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, pid: int | None = None) -> Notifier:
        """From ``$NOTIFY_SOCKET``, ``$WATCHDOG_USEC`` and ``$WATCHDOG_PID``. The watchdog counts
        only when ``WATCHDOG_PID`` is unset or names this process (``pid``, default ``os.getpid()``):
        a child that inherited the environment must not think it owes systemd a heartbeat."""
        env = os.environ if env is None else env
        watchdog = _positive_int(env.get("WATCHDOG_USEC"))
        watchdog_pid = env.get("WATCHDOG_PID")
        if watchdog is not None and watchdog_pid is not None:
            own = os.getpid() if pid is None else pid
            if _positive_int(watchdog_pid) != own:
                watchdog = None
        return cls(env.get("NOTIFY_SOCKET") or None, watchdog_usec=watchdog)

    @property
    def enabled(self) -> bool:
        """Whether there is a socket to notify (systemd started us as a notify service)."""
        return self._address is not None

    def watchdog_interval(self) -> float | None:
        """systemd's watchdog timeout in seconds (``WatchdogSec=``), or ``None`` when it has none for
        this process. Send ``watchdog()`` at half of it, as sd_watchdog_enabled(3) advises."""
        return None if self._watchdog_usec is None else self._watchdog_usec / 1_000_000

    def notify(self, **fields: str | int) -> bool:
        """Send one datagram of ``KEY=VALUE`` lines; ``True`` when it was delivered. A value cannot
        hold a newline (it would start a field of its own, e.g. a ``READY=1`` smuggled in a status
        text): newlines become spaces."""
        if self._address is None:
            return False
        lines = [
            f"{key}={str(value).replace(chr(10), ' ').replace(chr(13), ' ')}" for key, value in fields.items()
        ]
        payload = "\n".join(lines).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # A full receive queue at systemd must not stall the event loop: fail instead.
                self._sock.setblocking(False)
            self._sock.sendto(payload, self._address)
        except OSError as exc:
            if self.last_error is None or str(self.last_error) != str(exc):
                log.warning("sd_notify to %s failed (%s): %s", self.socket_name, ", ".join(fields), exc)
            self.last_error = exc
            return False
        if self.last_error is not None:
            log.info("sd_notify to %s works again", self.socket_name)
            self.last_error = None
        return True

    def ready(self, status: str | None = None) -> bool:
        """``READY=1``: startup is over (send it after reconciliation and the first fresh market data)."""
        return self.notify(READY=1) if status is None else self.notify(READY=1, STATUS=status)

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: the daemon is alive and healthy; systemd resets its watchdog timer."""
        return self.notify(WATCHDOG=1)

    def status(self, text: str) -> bool:
        """``STATUS=text``: one line ``systemctl status`` shows."""
        return self.notify(STATUS=text)

    def stopping(self, status: str | None = None) -> bool:
        """``STOPPING=1``: shutdown began (systemd then waits up to ``TimeoutStopSec=``)."""
        return self.notify(STOPPING=1) if status is None else self.notify(STOPPING=1, STATUS=status)

    def reloading(self) -> bool:
        """``RELOADING=1`` with the ``MONOTONIC_USEC`` systemd 253+ expects; send ``ready()`` when done."""
        return self.notify(RELOADING=1, MONOTONIC_USEC=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)

    def extend_timeout(self, seconds: float) -> bool:
        """``EXTEND_TIMEOUT_USEC``: ask for more time to start or stop (a slow reconciliation, cancels
        under a venue's rate limit); systemd allows that much more from now."""
        return self.notify(EXTEND_TIMEOUT_USEC=max(1, int(seconds * 1_000_000)))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
