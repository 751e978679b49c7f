"""Kiwoom REST (키움증권) for KRX stocks, real and mock: the execution client, the emulator and the
pure layer under them (docs/kiwoom.md)."""

from adapters.kiwoom.config import KiwoomConfig, load_config
from adapters.kiwoom.emulator import serve_kiwoom
from adapters.kiwoom.execution import KiwoomExecutionClient
from adapters.kiwoom.market_data import KiwoomMarketData

__all__ = ["KiwoomConfig", "KiwoomExecutionClient", "KiwoomMarketData", "load_config", "serve_kiwoom"]
