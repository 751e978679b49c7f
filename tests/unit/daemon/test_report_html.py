"""report.html: self-contained, readable (dates, not nanoseconds), no Python reprs, a script that parses."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from daemon import report_html
from daemon.cli import main
from daemon.report import EquityPoint, Report, RoundTrip, Series

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "replay_fixtures" / "krx-kospi6-daily"
REPRS = re.compile(r"Decimal\(|\bNone\b|\bTrue\b|\bFalse\b|\[|\]|\{'|'\}|msgspec|RunSettings\(|DataFile\(")


def visible(page: str) -> str:
    """The text and attributes a reader sees: everything but the script and style elements."""
    return re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("html") / "run"
    argv = ["replay", "strategies/my_strategy_a.py", "--data", str(FIXTURE), "--cash", "10000000"]
    assert main([*argv, "--fee-bps", "15", "--quiet", "--out", str(out)]) == 0
    return (out / "report.html").read_text()


def test_the_page_has_every_part(page: str) -> None:
    for part in ("Metrics", "Monthly returns", "Round trips", "Run settings and data", "buy and hold"):
        assert part in page, part
    for metric in (
        "CAGR",
        "Volatility",
        "Sharpe",
        "Sortino",
        "Calmar",
        "Max drawdown duration",
        "Profit factor",
    ):
        assert metric in page, metric
    assert page.count('<figure class="chart"') == 3  # equity + benchmark, drawdown, price with markers
    assert 'class="trades sortable"' in page
    assert "15 bps on every fill" in page and "krx-kospi6-daily" in page
    assert re.search(r"<code>[0-9a-f]{64}</code>", page)  # the data file's sha256


def test_no_python_repr_reaches_the_page(page: str) -> None:
    seen = visible(page)
    assert not REPRS.findall(seen), REPRS.findall(seen)[:5]


def test_times_are_dates_not_nanoseconds(page: str) -> None:
    rows = re.findall(r"<tbody>(.*?)</tbody>", page, flags=re.S)[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", rows)
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", c) for c in cells)
    assert not any(re.fullmatch(r"\d{15,}", c) for c in cells)  # no raw nanosecond stamps in the text
    axis = re.findall(r'<g class="axes">(.*?)</g>', page, flags=re.S)[0]
    assert re.search(r">\d{4}-\d{2}<", axis)


def test_the_page_needs_no_network(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script src" not in page and "<link" not in page


def test_a_report_without_trades_or_settings_renders_nulls_as_dashes() -> None:
    report = Report(
        strategy="s",
        strategy_type="single",
        currency="USD",
        initial_equity="100",
        final_equity="100",
        total_return="0",
        max_drawdown="0",
        sharpe=None,
        exposure="0",
        win_rate=None,
        round_trips=0,
        orders=0,
        rejected_orders=0,
        fills=0,
        fees="0",
        events=1,
        min_cash="100",
        journal_sha256="0" * 64,
        journal_records=3,
        first_ts_ns=10**18,
        last_ts_ns=10**18 + 60 * 10**9,
        rebalances=0,
        turnover="0",
        stale_snapshots=0,
        arbitrages={},
        equity_by_currency={"USD": "100"},
        warnings=["the strategy sent no orders"],
        metrics_omitted={"sharpe": "the run spans 0.00 days"},
    )
    curve = [EquityPoint(10**18, Decimal(100), Decimal(100), Decimal(0), False)]
    trips: list[RoundTrip] = []
    page = report_html.render(report, curve, trips, series=Series(benchmark=[Decimal(100)], prices={}))
    assert not REPRS.findall(visible(page))
    assert "—" in page and "the run spans 0.00 days" in page and "No round trip closed." in page


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_inline_script_parses(tmp_path: Path) -> None:
    script = tmp_path / "page.js"
    script.write_text(report_html.SCRIPT)
    done = subprocess.run(["node", "--check", str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_thinning_keeps_each_buckets_extremes() -> None:
    ts = list(range(10_000))
    values = [float((i * 7919) % 1000) for i in ts]
    values[4321] = -5.0
    t, v = report_html.thin(ts, values, limit=200)
    assert len(t) <= 210 and t == sorted(t) and t[-1] == ts[-1]
    assert min(v) == -5.0 and max(v) == max(values)


def test_a_percentage_that_rounds_to_zero_has_no_sign() -> None:
    from decimal import Decimal

    from daemon.report_html import _pct, _signed_cell

    assert _pct("-0.00001") == "0.00%"
    assert _pct("-0.0001") == "-0.01%"
    assert _pct("0.123456") == "12.35%"
    assert _signed_cell(Decimal("-0.00001")) == '<td class="n ">0.00%</td>'
    assert _signed_cell(Decimal("-0.0001")) == '<td class="n neg">-0.01%</td>'
    assert _signed_cell(Decimal("0.02")) == '<td class="n pos">2.00%</td>'


def test_percentage_axis_labels_differ_however_small_the_range() -> None:
    from daemon.report_html import _format_value, _pct_places

    assert _pct_places(0.05) == 2  # 5 points a step: 2 places
    assert _pct_places(0.0000006) == 5  # a drawdown of 0.00025% over four steps
    assert _pct_places(0.0) == 2
    labels = [_format_value("pct", -0.0000025 * i / 4, _pct_places(0.0000025 / 4)) for i in range(5)]
    assert len(set(labels)) == 5 and labels[0] == "0.00000%", labels
