"""Credential sources: file (with its permission check), env and systemd; the secret never shows."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from daemon.credentials import Credentials, CredentialsError, load_credentials, parse_source

SECRET = "s3cr3t-VALUE-never-shown-0123456789"
KEY = "AKIA-public-key-abcdef"


def write(path: Path, content: object, mode: int = 0o600) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    os.chmod(path, mode)
    return path


def test_repr_and_str_never_show_the_secret() -> None:
    creds = Credentials(api_key=KEY, api_secret=SECRET, account="12345678-01", source="env:X")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert SECRET not in text
        assert KEY not in text
        assert "12345678" not in text
    assert "cdef" in repr(creds)  # the key's tail says which key is in use


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_file_source_reads_a_private_file(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "k.json", {"api_key": KEY, "api_secret": SECRET, "account": "A1"}, mode)
    creds = load_credentials(f"file:{path}")
    assert (creds.api_key, creds.api_secret, creds.account) == (KEY, SECRET, "A1")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_file_readable_by_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "k.json", {"api_key": KEY, "api_secret": SECRET}, mode)
    with pytest.raises(CredentialsError) as info:
        load_credentials(f"file:{path}")
    assert info.value.code == "VT912"
    assert f"{mode:04o}" in info.value.message and "0600 or 0400" in info.value.message
    assert SECRET not in str(info.value)


def test_file_missing_and_symlink(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError) as info:
        load_credentials(f"file:{tmp_path / 'none.json'}")
    assert info.value.code == "VT911"
    target = write(tmp_path / "k.json", {"api_key": KEY, "api_secret": SECRET})
    (tmp_path / "link.json").symlink_to(target)
    with pytest.raises(CredentialsError) as info:
        load_credentials(f"file:{tmp_path / 'link.json'}")
    assert info.value.code == "VT911"


@pytest.mark.parametrize(
    "content",
    [
        f'{{"api_key": "{KEY}", "api_secret": "{SECRET}"',  # truncated JSON
        {"api_key": KEY},
        {"api_key": KEY, "api_secret": 12345},
        {"api_key": KEY, "api_secret": "  "},
        {"api_key": KEY, "api_secret": SECRET, "api_secert": SECRET},
        [KEY, SECRET],
    ],
)
def test_file_content_errors_never_echo_the_secret(tmp_path: Path, content: object) -> None:
    path = write(tmp_path / "k.json", content)
    with pytest.raises(CredentialsError) as info:
        load_credentials(f"file:{path}")
    assert info.value.code == "VT913"
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert f"file:{path}" in info.value.message


def test_env_source() -> None:
    env = {"BN_API_KEY": KEY, "BN_API_SECRET": SECRET}
    creds = load_credentials("env:BN", environ=env)
    assert (creds.api_key, creds.api_secret, creds.account) == (KEY, SECRET, None)
    assert load_credentials("env:BN", environ={**env, "BN_ACCOUNT": "77"}).account == "77"
    with pytest.raises(CredentialsError) as info:
        load_credentials("env:BN", environ={"BN_API_KEY": KEY, "BN_API_SECRET": ""})
    assert info.value.code == "VT911"
    assert "BN_API_SECRET" in info.value.message and "BN_API_KEY" not in info.value.message


def test_systemd_source(tmp_path: Path) -> None:
    write(tmp_path / "binance", {"api_key": KEY, "api_secret": SECRET}, 0o400)
    creds = load_credentials("systemd:binance", environ={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert creds.api_secret == SECRET
    with pytest.raises(CredentialsError) as info:
        load_credentials("systemd:binance", environ={})
    assert info.value.code == "VT911" and "CREDENTIALS_DIRECTORY" in info.value.message
    with pytest.raises(CredentialsError) as info:
        load_credentials("systemd:bybit", environ={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert info.value.code == "VT911"


@pytest.mark.parametrize("source", ["vault:x", "file:", "env:BAD-PREFIX", "systemd:../etc/x", "BINANCE"])
def test_malformed_sources(source: str) -> None:
    with pytest.raises(CredentialsError) as info:
        parse_source(source)
    assert info.value.code == "VT910"
