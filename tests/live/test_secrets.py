"""No credential leaves the daemon: a live ``vibetrading run`` process trades against the Binance
emulator with a recognisable key pair, debug logging on, and neither the API key, nor the secret, nor
any request signature the emulator received appears in its stdout or stderr, its state directory
(the journal included), ``/metrics``, ``/readyz`` or ``/healthz``."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import msgspec
import pytest

from adapters.binance import emulator_rest, emulator_ws
from adapters.binance.emulator import serve_binance
from adapters.emulator import EmulatorOptions
from adapters.emulator.server import RunningEmulator
from daemon.live.session import JOURNAL_NAME
from tests.live.harness import STRATEGIES, journal_events, write_config
from tests.live.test_daemon_process import NotifySocket, free_port, get, ready, running, wait_metric

pytestmark = pytest.mark.slow

SYMBOL = "binance-spot:BTCUSDT"
# recognisable, and unlike anything else the daemon prints (hex would be: order ids, hashes)
API_KEY = "LeakCanaryKeyQ7vZpW3xN9mRt2Ls"
API_SECRET = "LeakCanarySecretH4kJd8FfYy6Gc1Bn0Tu"


Verify = Callable[[bytes | str, bytes | str, str], bool]


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every signature the emulator checks, REST and WebSocket API alike."""
    seen: list[str] = []

    def recording(real: Verify) -> Verify:
        def verify(secret: bytes | str, payload: bytes | str, signature: str) -> bool:
            seen.append(signature)
            return real(secret, payload, signature)

        return verify

    for module in (emulator_rest, emulator_ws):
        monkeypatch.setattr(module, "verify", recording(module.verify))
    return seen


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    emu = await serve_binance(
        EmulatorOptions(symbols=(SYMBOL,), walk_interval_s=0.01, seed=11, keys={API_KEY: API_SECRET})
    )
    try:
        yield emu
    finally:
        await emu.close()


def fragments(value: str, size: int = 10) -> set[str]:
    return {value[i : i + size] for i in range(len(value) - size + 1)}


def leaks(where: str, text: str, secrets: dict[str, str]) -> list[str]:
    """Each secret found whole, and for the key and the secret any 10 characters of them too: a log
    line cut short (websockets logs frames truncated in the middle) escapes a whole-value redaction."""
    found = [f"{what} in {where}" for what, value in secrets.items() if value in text]
    for what in ("api key", "api secret"):
        pieces = [p for p in fragments(secrets[what]) if p in text]
        if pieces:
            found.append(f"part of the {what} in {where}: {sorted(pieces)[:3]}")
    return found


async def test_live_daemon_never_shows_its_credentials(
    tmp_path: Path, emulator: RunningEmulator, signatures: list[str]
) -> None:
    port = free_port()
    config = write_config(
        tmp_path,
        strategy=STRATEGIES / "flip.py",
        params={"symbol": SYMBOL, "every": 3, "size": "0.01"},
        venues={"binance": emulator},
        mode="live",
        extra=f'[health]\nlisten = "127.0.0.1:{port}"\n',
    )
    creds = tmp_path / "credentials.json"  # the file write_config names, with this test's pair
    creds.write_text(json.dumps({"api_key": API_KEY, "api_secret": API_SECRET}))
    creds.chmod(0o600)

    notify_dir = Path(tempfile.mkdtemp(prefix="vt-notify-"))  # sun_path is 108 bytes: not in tmp_path
    notify = NotifySocket(notify_dir / "notify")
    notify.start()
    bodies: dict[str, str] = {}
    try:
        async with running(config, notify, "daemon", "--log-level", "debug") as daemon:
            await ready(daemon)
            await wait_metric(daemon, port, "vibetrading_fills_total", 2, "two fills", venue="binance")
            for path in ("/metrics", "/readyz", "/healthz"):
                status, bodies[path] = await get(port, path)
                assert status == 200, bodies[path]
            assert await daemon.stop() == 0, daemon.output()
    finally:
        await notify.close()
        shutil.rmtree(notify_dir, ignore_errors=True)

    # the test means something only if the key was used and requests were signed
    assert len(signatures) >= 3
    assert emulator.exchange.trades(API_KEY)
    secrets = {"api key": API_KEY, "api secret": API_SECRET}
    secrets |= {f"signature {s}": s for s in set(signatures)}

    found: list[str] = []
    stdout = daemon.log.read_text()
    # the daemon's own lines were written (at --log-level debug; websockets' per-frame debug lines,
    # which would carry a truncated signature, are held at info by daemon/logs.py)
    assert stdout.count("\n") >= 3 and '"event": "ready"' in stdout
    found += leaks("stdout", stdout, secrets)
    found += leaks("stderr", daemon.err.read_text(), secrets)
    state = tmp_path / "state"
    assert (state / JOURNAL_NAME).stat().st_size > 0
    for file in sorted(p for p in state.rglob("*") if p.is_file()):
        found += leaks(str(file.relative_to(tmp_path)), file.read_bytes().decode("latin-1"), secrets)
    # and the journal's events as text, in case a field's encoding hid a value from the byte search
    exported = "\n".join(msgspec.json.encode(e).decode() for e in journal_events(state))
    found += leaks("journal events", exported, secrets)
    for path, body in bodies.items():
        found += leaks(path, body, secrets)
    assert not found, found
