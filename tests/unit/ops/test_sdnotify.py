"""daemon/sdnotify.py against a real unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.sdnotify import Notifier


class FakeSystemd:
    """The receiving end systemd would hold: a bound SOCK_DGRAM socket; ``name`` is NOTIFY_SOCKET."""

    def __init__(self, name: str, bind_to: str | bytes) -> None:
        self.name = name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(bind_to)
        self.sock.settimeout(0.5)

    def receive(self) -> dict[str, str]:
        data = self.sock.recv(4096)
        return dict(line.split("=", 1) for line in data.decode().split("\n"))

    def pending(self) -> bool:
        self.sock.setblocking(False)
        try:
            self.sock.recv(4096)
        except BlockingIOError:
            return False
        finally:
            self.sock.settimeout(0.5)
        return True


@pytest.fixture
def path_systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    path = str(tmp_path / "notify")
    fake = FakeSystemd(path, path)
    yield fake
    fake.sock.close()


@pytest.fixture
def abstract_systemd() -> Iterator[FakeSystemd]:
    name = f"vibetrading-test-{uuid.uuid4().hex}"
    fake = FakeSystemd("@" + name, b"\0" + name.encode())
    yield fake
    fake.sock.close()


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_each_message_arrives_as_one_datagram(
    kind: str, path_systemd: FakeSystemd, abstract_systemd: FakeSystemd
) -> None:
    fake = path_systemd if kind == "path" else abstract_systemd
    with Notifier.from_env({"NOTIFY_SOCKET": fake.name}) as notifier:
        assert notifier.enabled
        assert notifier.ready()
        assert fake.receive() == {"READY": "1"}
        assert notifier.watchdog()
        assert fake.receive() == {"WATCHDOG": "1"}
        assert notifier.status("reconciling binance")
        assert fake.receive() == {"STATUS": "reconciling binance"}
        assert notifier.stopping("cancelling 2 open orders")
        assert fake.receive() == {"STOPPING": "1", "STATUS": "cancelling 2 open orders"}
        assert notifier.ready(status="trading sma_cross")
        assert fake.receive() == {"READY": "1", "STATUS": "trading sma_cross"}
        assert notifier.extend_timeout(1.5)
        assert fake.receive() == {"EXTEND_TIMEOUT_USEC": "1500000"}
        assert notifier.reloading()
        message = fake.receive()
        assert message["RELOADING"] == "1"
        assert int(message["MONOTONIC_USEC"]) > 0


def test_a_status_cannot_smuggle_another_field(path_systemd: FakeSystemd) -> None:
    with Notifier(path_systemd.name) as notifier:
        assert notifier.status("all fine\nREADY=1\rWATCHDOG=1")
    assert path_systemd.receive() == {"STATUS": "all fine READY=1 WATCHDOG=1"}


def test_without_notify_socket_every_call_is_a_noop() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.watchdog()
    assert not notifier.status("x")
    assert not notifier.stopping()
    assert notifier.last_error is None
    assert notifier.watchdog_interval() is None
    assert not Notifier.from_env({"NOTIFY_SOCKET": ""}).enabled


@pytest.mark.parametrize("raw", ["relative/notify", "@", "notify"])
def test_an_address_systemd_never_sets_disables_it(raw: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="daemon.sdnotify"):
        notifier = Notifier.from_env({"NOTIFY_SOCKET": raw})
    assert not notifier.enabled
    assert not notifier.ready()
    assert "neither an absolute path nor @abstract" in caplog.text


def test_a_vanished_socket_returns_false_logs_once_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = str(tmp_path / "notify")
    notifier = Notifier(path)
    with caplog.at_level(logging.INFO, logger="daemon.sdnotify"):
        assert not notifier.watchdog()
        assert not notifier.watchdog()
        assert isinstance(notifier.last_error, FileNotFoundError)
        assert caplog.text.count("failed") == 1, "a repeated error is logged once, not every heartbeat"
        fake = FakeSystemd(path, path)
        try:
            assert notifier.watchdog()
            assert fake.receive() == {"WATCHDOG": "1"}
        finally:
            fake.sock.close()
            notifier.close()
    assert notifier.last_error is None
    assert "works again" in caplog.text


def test_a_full_queue_fails_instead_of_blocking(path_systemd: FakeSystemd) -> None:
    """Nobody reads the socket: the kernel queue fills and sendto would block the event loop."""
    notifier = Notifier(path_systemd.name)
    try:
        results = [notifier.status("x" * 1024) for _ in range(2000)]
    finally:
        notifier.close()
    assert results[0]
    assert not all(results), "2000 unread datagrams should fill the queue"
    assert isinstance(notifier.last_error, BlockingIOError)


def test_watchdog_interval_from_the_environment() -> None:
    pid = os.getpid()
    assert Notifier.from_env({"WATCHDOG_USEC": "30000000"}).watchdog_interval() == 30.0
    assert (
        Notifier.from_env({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(pid)}).watchdog_interval() == 30.0
    )
    assert (
        Notifier.from_env({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": "7"}, pid=7).watchdog_interval() == 0.5
    )
    # Inherited by a child: the watchdog belongs to another process.
    assert (
        Notifier.from_env({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, pid=2).watchdog_interval()
        is None
    )
    for bad in ("", "0", "-5", "abc", "1.5", "²"):
        assert Notifier.from_env({"WATCHDOG_USEC": bad}).watchdog_interval() is None, bad
    assert Notifier.from_env({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"}).watchdog_interval() is None


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch, path_systemd: FakeSystemd) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", path_systemd.name)
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    with Notifier.from_env() as notifier:
        assert notifier.watchdog_interval() == 2.0
        assert notifier.watchdog()
    assert path_systemd.receive() == {"WATCHDOG": "1"}
