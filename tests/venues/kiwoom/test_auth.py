"""The token cache: one file per environment and key, 0600, atomic, reused across restarts until
shortly before expires_dt (KST)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from adapters.kiwoom.auth import TokenCache, expires_ns
from adapters.kiwoom.errors import KiwoomTokenCacheError
from adapters.venue_errors import VenueMessageError

END = "20261204090000"  # KST
END_NS = expires_ns(END)


def test_expires_dt_is_kst() -> None:
    assert END_NS == 1_796_342_400 * 10**9  # 2026-12-04 00:00 UTC
    for bad in ("2026-12-04 09:00:00", "", "20261304090000"):
        with pytest.raises(VenueMessageError):
            expires_ns(bad)


def test_cached_token_survives_a_restart_with_mode_0600(tmp_path: Path) -> None:
    now = END_NS - 3600 * 10**9
    cache = TokenCache(tmp_path, "key", "production", now_ns=lambda: now)
    assert cache.current() is None
    cache.store("tok-1", END)
    assert cache.path is not None
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert "key" not in cache.path.name  # the key only as a hash
    again = TokenCache(tmp_path, "key", "production", now_ns=lambda: now)
    assert again.current() == "tok-1"
    assert TokenCache(tmp_path, "key", "test", now_ns=lambda: now).current() is None  # mock is separate
    assert TokenCache(tmp_path, "other", "production", now_ns=lambda: now).current() is None
    assert not list(tmp_path.glob("*.tmp"))


def test_token_is_renewed_shortly_before_its_end(tmp_path: Path) -> None:
    clock = [END_NS - 601 * 10**9]
    cache = TokenCache(tmp_path, "key", "production", margin_s=600, now_ns=lambda: clock[0])
    cache.store("tok-1", END)
    assert cache.current() == "tok-1"
    clock[0] += 2 * 10**9
    assert cache.current() is None


def test_a_refused_token_is_forgotten_and_a_torn_file_ignored(tmp_path: Path) -> None:
    now = END_NS - 3600 * 10**9
    cache = TokenCache(tmp_path, "key", "production", now_ns=lambda: now)
    cache.store("tok-1", END)
    cache.discard("tok-1")
    assert cache.current() is None
    assert cache.path is not None and not cache.path.exists()
    cache.path.write_text("{not json")
    assert TokenCache(tmp_path, "key", "production", now_ns=lambda: now).current() is None


def test_unwritable_directory_is_a_typed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = TokenCache(blocker / "sub", "key", "production")
    with pytest.raises(KiwoomTokenCacheError) as caught:
        cache.store("tok", END)
    assert caught.value.code == "VT991"
