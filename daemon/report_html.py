"""``report.html``: one self-contained page a quant keeps open beside the run (docs/report.md).

Every chart is inline SVG drawn here, so the page reads without scripts; a small script of our own
(inline, no library, no network) adds zoom (wheel, or drag a range; double-click resets), a hover
read-out with date and value, and sortable tables. The charts carry at most ``MAX_POINTS`` points a
series (each bucket keeps its lowest and highest point, so no drawdown is smoothed away); the exact
figures are in ``report.json``, ``equity.csv`` and ``trades.csv``. Every value on the page goes
through :func:`_text` or a formatter below: no Python repr ever reaches it.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from daemon.report import EquityPoint, Report, RoundTrip, Series, display
from engines.units import NS_PER_DAY, NS_PER_MS, NS_PER_SECOND

MAX_POINTS = 2000
MAX_TRADE_ROWS = 2000
#: price charts drawn: the first symbols of the universe that were traded, then the others
MAX_PRICE_CHARTS = 4
WIDTH, HEIGHT = 900, 260
LEFT, RIGHT, TOP, BOTTOM = 78, 12, 10, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
UNITS = 1000  # the plot's own coordinates: x and y both run 0..UNITS over the full range
#: a price chart with entry and exit dots reaches this fraction of its range beyond the extremes
MARKER_PAD = 0.04
ENTRY, EXIT = "#1a7f37", "#cf222e"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ── formatting ──────────────────────────────────────────────────────────────────────────────────


def _text(value: object) -> str:
    return html.escape(display(value))


def _when(ts_ns: int) -> str:
    """Exchange time as a UTC date and time, to the second (the journal keeps the nanoseconds)."""
    return dt.datetime.fromtimestamp(ts_ns // NS_PER_SECOND, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(ns: int) -> str:
    """A span as a person reads it: ``12d 3h``, ``4h 05m``, ``42s``, ``350ms``."""
    if ns < NS_PER_SECOND:
        return f"{ns // NS_PER_MS}ms" if ns >= NS_PER_MS else f"{ns}ns"
    secs = ns // NS_PER_SECOND
    days, rest = divmod(secs, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


def _pct(value: str | None) -> str:
    return "—" if value is None else _percent(Decimal(value))


def _percent(value: Decimal) -> str:
    """``value`` in percent with two places; a value that rounds to zero is "0.00%", never "-0.00%"."""
    text = f"{value * 100:.2f}"
    return f"{'0.00' if text == '-0.00' else text}%"


def _num(value: str | None, places: int = 2) -> str:
    return "—" if value is None else f"{Decimal(value):,.{places}f}"


def _money(value: str | Decimal | None) -> str:
    if value is None:
        return "—"
    d = Decimal(value)
    places = 2 if abs(d) >= 1 or d == 0 else 8
    return f"{d:,.{places}f}"


# ── charts ──────────────────────────────────────────────────────────────────────────────────────


class _Line(msgspec.Struct, frozen=True):
    name: str
    colour: str
    t: list[int]  # exchange time, ms
    v: list[float]


class _Marker(msgspec.Struct, frozen=True):
    t: int  # ms
    v: float
    colour: str
    label: str


class _Chart(msgspec.Struct, frozen=True):
    title: str
    unit: str  # "money", "pct" or "price": how the script formats a value
    t0: int
    t1: int
    lo: float
    hi: float
    lines: list[_Line]
    markers: list[_Marker] = []


def thin(
    ts: Sequence[int], values: Sequence[float], limit: int = MAX_POINTS
) -> tuple[list[int], list[float]]:
    """At most about ``limit`` points: each bucket keeps its lowest and highest, in time order."""
    n = len(values)
    if n <= limit:
        return list(ts), list(values)
    size = -(-n // (limit // 2))
    out_t: list[int] = []
    out_v: list[float] = []
    for start in range(0, n, size):
        idx = range(start, min(start + size, n))
        lo = min(idx, key=values.__getitem__)
        hi = max(idx, key=values.__getitem__)
        for i in sorted({lo, hi}):
            out_t.append(ts[i])
            out_v.append(values[i])
    if out_t[-1] != ts[-1]:
        out_t.append(ts[-1])
        out_v.append(values[-1])
    return out_t, out_v


def _chart(title: str, unit: str, lines: list[_Line], markers: list[_Marker] | None = None) -> _Chart | None:
    ts = [t for line in lines for t in line.t]
    vs = [v for line in lines for v in line.v] + [m.v for m in markers or ()]
    if not ts:
        return None
    lo, hi = min(vs), max(vs)
    if markers:  # a dot on the highest or lowest price would be half cut off at the plot's edge
        lo, hi = lo - (hi - lo) * MARKER_PAD, hi + (hi - lo) * MARKER_PAD
    return _Chart(title, unit, min(ts), max(ts), lo, hi, lines, markers or [])


def _x(chart: _Chart, t_ms: int) -> float:
    return (t_ms - chart.t0) / (chart.t1 - chart.t0) * UNITS if chart.t1 > chart.t0 else 0.0


def _y(chart: _Chart, v: float) -> float:
    return (chart.hi - v) / (chart.hi - chart.lo) * UNITS if chart.hi > chart.lo else UNITS / 2


def _pct_places(step: float) -> int:
    """Decimal places that tell apart percentage labels ``step`` apart (a fraction; 2 to 8 places)."""
    points = abs(step) * 100
    return 2 if points <= 0 else max(2, min(8, math.ceil(-math.log10(points))))


def _format_value(unit: str, v: float, places: int = 2) -> str:
    if unit == "pct":
        return f"{round(v * 100, places) or 0.0:.{places}f}%"  # never "-0.00%"
    if abs(v) >= 1000 or v == 0:
        return f"{v:,.0f}"
    return f"{v:,.4g}" if abs(v) < 1 else f"{v:,.2f}"


def _date_format(span_ms: int) -> str:
    """The tick label format the script uses too: coarser as the visible span grows."""
    if span_ms > 2 * 365 * NS_PER_DAY // NS_PER_MS:
        return "%Y-%m"
    if span_ms > 3 * NS_PER_DAY // NS_PER_MS:
        return "%Y-%m-%d"
    if span_ms > 3 * 60_000:
        return "%m-%d %H:%M"
    return "%H:%M:%S"


def _axes(chart: _Chart) -> str:
    parts = []
    places = _pct_places((chart.hi - chart.lo) / 4)  # a drawdown of 0.0002% gets labels that differ
    for i in range(5):
        frac = i / 4
        v = chart.hi - frac * (chart.hi - chart.lo)
        y = TOP + frac * PLOT_H
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        label = _format_value(chart.unit, v, places)
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    fmt = _date_format(chart.t1 - chart.t0)
    for i in range(6):
        frac = i / 5
        t = chart.t0 + frac * (chart.t1 - chart.t0)
        x = LEFT + frac * PLOT_W
        label = dt.datetime.fromtimestamp(t / 1000, tz=dt.UTC).strftime(fmt)
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{label}</text>')
    return "".join(parts)


def _points(chart: _Chart, line: _Line) -> str:
    return " ".join(f"{_x(chart, t):.2f},{_y(chart, v):.2f}" for t, v in zip(line.t, line.v, strict=True))


def _svg(key: str, chart: _Chart) -> str:
    label = html.escape(chart.title)
    polylines = "".join(
        f'<polyline fill="none" stroke="{line.colour}" stroke-width="1.5" vector-effect="non-scaling-stroke" '
        f'points="{_points(chart, line)}"/>'
        for line in chart.lines
    )
    # a zero-length line with a round cap is a dot that keeps its size when the plot is stretched
    dots = "".join(
        f'<line x1="{_x(chart, m.t):.2f}" y1="{_y(chart, m.v):.2f}" x2="{_x(chart, m.t):.2f}" '
        f'y2="{_y(chart, m.v):.2f}" stroke="{m.colour}" stroke-width="7" stroke-linecap="round" '
        f'vector-effect="non-scaling-stroke"><title>{html.escape(m.label)}</title></line>'
        for m in chart.markers
    )
    legend = " ".join(
        f'<span class="key" style="border-color:{line.colour}">{html.escape(line.name)}</span>'
        for line in chart.lines
    )
    if chart.markers:
        legend += (
            f' <span class="dot" style="background:{ENTRY}"></span> entry'
            f' <span class="dot" style="background:{EXIT}"></span> exit'
        )
    return f"""<figure class="chart" data-chart="{key}">
<figcaption>{label} <small>{legend}</small></figcaption>
<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img"
 aria-label="{label}">
<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" class="frame"/>
<g class="axes">{_axes(chart)}</g>
<svg class="plot" x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" viewBox="0 0 {UNITS} {UNITS}"
 preserveAspectRatio="none">{polylines}{dots}</svg>
<line class="cursor" x1="0" x2="0" y1="{TOP}" y2="{TOP + PLOT_H}" visibility="hidden"/>
<rect class="band" x="0" y="{TOP}" width="0" height="{PLOT_H}" visibility="hidden"/>
</svg><div class="tip" hidden></div></figure>"""


def _charts(
    report: Report, curve: Sequence[EquityPoint], trips: Sequence[RoundTrip], series: Series | None
) -> dict[str, _Chart]:
    ms = [p.ts_ns // NS_PER_MS for p in curve]
    charts: dict[str, _Chart | None] = {}
    t, v = thin(ms, [float(p.equity) for p in curve])
    lines = [_Line(f"equity ({report.currency})", "#1f6feb", t, v)]
    if series is not None and series.benchmark:
        t, v = thin(ms, [float(b) for b in series.benchmark])
        lines.append(_Line("buy and hold", "#8250df", t, v))
    charts["equity"] = _chart(f"Equity ({report.currency})", "money", lines)
    t, v = thin(ms, [-float(p.drawdown) for p in curve])
    charts["drawdown"] = _chart("Drawdown", "pct", [_Line("drawdown", "#cf222e", t, v)])
    if series is not None:
        traded = list(dict.fromkeys(trip.symbol for trip in trips))
        order = traded + [s for s in series.prices if s not in traded]
        for i, symbol in enumerate(order[:MAX_PRICE_CHARTS]):
            known = [(m, float(p)) for m, p in zip(ms, series.prices[symbol], strict=True) if p is not None]
            t, v = thin([k[0] for k in known], [k[1] for k in known])
            markers = []
            for trip in trips:
                if trip.symbol != symbol:
                    continue
                markers.append(
                    _Marker(
                        trip.entry_ts_ns // NS_PER_MS,
                        float(trip.entry_price),
                        ENTRY,
                        f"{trip.side} entry {_when(trip.entry_ts_ns)} at {trip.entry_price:f}",
                    )
                )
                markers.append(
                    _Marker(
                        trip.exit_ts_ns // NS_PER_MS,
                        float(trip.exit_price),
                        EXIT,
                        f"{trip.side} exit {_when(trip.exit_ts_ns)} at {trip.exit_price:f}, PnL {trip.pnl:f}",
                    )
                )
            charts[f"price{i}"] = _chart(
                f"Price: {symbol} (last mark at each sample)",
                "price",
                [_Line(symbol, "#57606a", t, v)],
                markers,
            )
    return {k: c for k, c in charts.items() if c is not None}


# ── tables ──────────────────────────────────────────────────────────────────────────────────────


def _metrics_table(r: Report) -> str:
    omitted = r.metrics_omitted
    rows: list[tuple[str, str, str]] = [
        ("Total return", _pct(r.total_return), "total_return"),
        ("Buy and hold return", _pct(r.benchmark_return), "benchmark_return"),
        ("CAGR", _pct(r.cagr), "cagr"),
        ("Volatility (annualised)", _pct(r.volatility), "volatility"),
        ("Sharpe", _num(r.sharpe), "sharpe"),
        ("Sortino", _num(r.sortino), "sortino"),
        ("Calmar", _num(r.calmar), "calmar"),
        ("Max drawdown", _pct(r.max_drawdown), "max_drawdown"),
        (
            "Max drawdown duration",
            duration(r.max_drawdown_duration_ns) + ("" if r.max_drawdown_recovered else " (not recovered)"),
            "max_drawdown_duration_ns",
        ),
        ("Longest drawdown", duration(r.longest_drawdown_ns), "longest_drawdown_ns"),
        ("Exposure", _pct(r.exposure), "exposure"),
        ("Round trips", str(r.round_trips), "round_trips"),
        ("Win rate", _pct(r.win_rate), "win_rate"),
        ("Profit factor", _num(r.profit_factor, 3), "profit_factor"),
        ("Average trade", _money(r.avg_trade), "avg_trade"),
        ("Best trade", _money(r.best_trade), "best_trade"),
        ("Worst trade", _money(r.worst_trade), "worst_trade"),
        (
            "Average holding time",
            "—" if r.avg_holding_ns is None else duration(r.avg_holding_ns),
            "avg_holding_ns",
        ),
        ("Fees", _money(r.fees), "fees"),
    ]
    body = "".join(
        f'<tr><th>{html.escape(name)}</th><td class="n">{html.escape(value)}</td>'
        f'<td class="why">{html.escape(omitted.get(key, ""))}</td></tr>'
        for name, value, key in rows
    )
    return f'<table class="metrics"><tr><th>metric</th><th>value</th><th>note</th></tr>{body}</table>'


def _monthly_table(r: Report) -> str:
    years: dict[str, dict[int, Decimal]] = {}
    for month, value in r.monthly_returns.items():
        year, mm = month.split("-")
        years.setdefault(year, {})[int(mm)] = Decimal(value)
    if not years:
        return "<p>No equity samples.</p>"
    head = "".join(f"<th>{m}</th>" for m in MONTHS)
    rows = []
    for year, months in years.items():
        growth = Decimal(1)
        cells = []
        for m in range(1, 13):
            if m in months:
                growth *= 1 + months[m]
                cells.append(_signed_cell(months[m]))
            else:
                cells.append("<td></td>")
        rows.append(f"<tr><th>{year}</th>{''.join(cells)}{_signed_cell(growth - 1)}</tr>")
    return f'<table class="monthly"><tr><th>year</th>{head}<th>year</th></tr>{"".join(rows)}</table>'


def _signed_cell(value: Decimal) -> str:
    text = _percent(value)
    cls = "" if text == "0.00%" else "pos" if value > 0 else "neg"
    return f'<td class="n {cls}">{text}</td>'


def _trades_table(trips: Sequence[RoundTrip]) -> str:
    if not trips:
        return "<p>No round trip closed.</p>"
    head = "".join(
        f'<th data-type="{kind}">{name}</th>'
        for name, kind in (
            ("#", "n"),
            ("symbol", "s"),
            ("side", "s"),
            ("size", "n"),
            ("entry (UTC)", "n"),
            ("entry price", "n"),
            ("exit (UTC)", "n"),
            ("exit price", "n"),
            ("PnL", "n"),
            ("fees", "n"),
            ("duration", "n"),
        )
    )
    rows = []
    for i, t in enumerate(trips[:MAX_TRADE_ROWS], 1):
        cls = "pos" if t.pnl > 0 else "neg" if t.pnl < 0 else ""
        held = t.exit_ts_ns - t.entry_ts_ns
        rows.append(
            f'<tr><td class="n">{i}</td><td>{_text(t.symbol)}</td><td>{_text(t.side)}</td>'
            f'<td class="n" data-v="{t.quantity:f}">{t.quantity:f}</td>'
            f'<td data-v="{t.entry_ts_ns}">{_when(t.entry_ts_ns)}</td>'
            f'<td class="n" data-v="{t.entry_price:f}">{_money(t.entry_price)}</td>'
            f'<td data-v="{t.exit_ts_ns}">{_when(t.exit_ts_ns)}</td>'
            f'<td class="n" data-v="{t.exit_price:f}">{_money(t.exit_price)}</td>'
            f'<td class="n {cls}" data-v="{t.pnl:f}">{_money(t.pnl)}</td>'
            f'<td class="n" data-v="{t.fees:f}">{_money(t.fees)}</td>'
            f'<td class="n" data-v="{held}">{duration(held)}</td></tr>'
        )
    more = (
        f"<p>{len(trips) - MAX_TRADE_ROWS} more round trips in trades.csv.</p>"
        if len(trips) > MAX_TRADE_ROWS
        else ""
    )
    return (
        '<p class="hint">Click a column to sort.</p>'
        f'<table class="trades sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{more}"
    )


def _settings_table(r: Report) -> str:
    s = r.settings
    rows: list[tuple[str, str]] = [
        ("strategy", f"{r.strategy} ({r.strategy_type})"),
        ("strategy sha256", r.strategy_sha256 or "—"),
        ("parameters", display(r.params)),
    ]
    if s is None:
        rows.append(("settings", "not in this journal (written before the run record held them)"))
    else:
        rows += [
            ("initial cash", f"{_money(s.cash)} {r.currency}"),
            (
                "fees",
                "each symbol's own maker and taker fees"
                if s.fee_bps is None
                else f"{s.fee_bps:f} bps on every fill",
            ),
            ("latency", duration(s.latency_ns) if s.latency_ns else "none (fills at the next event)"),
            ("injected rejects", _rejects(s.reject_every, s.reject_prob)),
            ("seed", str(s.seed)),
            ("equity sample interval (tick data)", duration(s.sample_ns)),
        ]
    rows += [
        ("span (UTC)", f"{_when(r.first_ts_ns)} to {_when(r.last_ts_ns)}" if r.first_ts_ns else "—"),
        ("market events", f"{r.events:,}"),
        ("journal", f"{r.journal_records:,} records, sha256 {r.journal_sha256}"),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    files = ""
    if s is not None and s.data:
        file_rows = "".join(
            f"<tr><td>{_text(f.name)}</td><td>{_text(f.format)}</td><td class='n'>{f.bytes:,}</td>"
            f"<td><code>{_text(f.sha256)}</code></td></tr>"
            for f in s.data
        )
        files = (
            "<h3>Data</h3><table><tr><th>file</th><th>format</th><th>bytes</th><th>sha256</th></tr>"
            f"{file_rows}</table>"
        )
    return f"<table>{body}</table>{files}"


def _rejects(every: int | None, prob: Decimal | None) -> str:
    parts = []
    if every is not None:
        parts.append(f"every {every}th order")
    if prob is not None:
        parts.append(f"each order with probability {prob:f}")
    return ", and ".join(parts) if parts else "none"


def _summary_table(r: Report) -> str:
    raw = msgspec.to_builtins(r)
    assert isinstance(raw, dict)
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_text(v)}</td></tr>" for k, v in raw.items())
    return f'<details><summary>Every report.json key</summary><table class="raw">{rows}</table></details>'


# ── the page ────────────────────────────────────────────────────────────────────────────────────

STYLE = """body{font:14px system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.pos{color:#1a7f37}.neg{color:#cf222e}
td.why{color:#666;font-size:12px;max-width:420px}figure{margin:1em 0;position:relative}
figcaption{font-weight:600}figcaption small{font-weight:400;margin-left:1em}
.key{border-top:3px solid;padding:0 4px;margin-right:6px}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%}
svg.chart{max-width:100%;height:auto;user-select:none}svg.chart text{font-size:11px;fill:#444}
.frame{fill:#fafafa;stroke:#ccc}.grid{stroke:#eee}.cursor{stroke:#888;stroke-dasharray:3 3}
.band{fill:#1f6feb;fill-opacity:.12}svg.plot{cursor:crosshair}
.tip{position:absolute;background:#fff;border:1px solid #aaa;padding:4px 8px;font-size:12px;
pointer-events:none;white-space:nowrap;box-shadow:0 1px 3px #0002}.hint{color:#666;font-size:12px}
table.sortable th{cursor:pointer}.warning{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px}
.monthly td{min-width:52px}"""


def render(
    report: Report,
    curve: Sequence[EquityPoint],
    trips: Sequence[RoundTrip],
    *,
    series: Series | None = None,
) -> str:
    charts = _charts(report, curve, trips, series)
    figures = "\n".join(_svg(key, chart) for key, chart in charts.items())
    # "</" never appears inside the JSON, so it cannot close its script element
    layout = {
        "left": LEFT,
        "top": TOP,
        "plot_w": PLOT_W,
        "plot_h": PLOT_H,
        "height": HEIGHT,
        "units": UNITS,
        "marker_pad": MARKER_PAD,
    }
    page = {"layout": layout, "charts": msgspec.to_builtins(charts)}
    data = json.dumps(page, separators=(",", ":")).replace("</", "<\\/")
    warnings = "".join(f'<p class="warning">Warning: {html.escape(w)}</p>' for w in report.warnings)
    title = html.escape(f"{report.strategy} ({report.strategy_type})")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VibeTrading report: {title}</title>
<style>{STYLE}</style></head>
<body><h1>Replay report: {title}</h1>
{warnings}
<p class="hint">Times are UTC (exchange time). Charts: wheel or drag to zoom, double-click to reset,
hover for values.</p>
<h2>Metrics</h2>{_metrics_table(report)}
<h2>Charts</h2>
{figures}
<h2>Monthly returns</h2>{_monthly_table(report)}
<h2>Round trips</h2>{_trades_table(trips)}
<h2>Run settings and data</h2>{_settings_table(report)}
<h2>Report</h2>{_summary_table(report)}
<script type="application/json" id="vt-charts">{data}</script>
<script>{SCRIPT}</script>
</body></html>
"""


# The page's only script: zoom, hover read-out, sortable tables. Plain ES2017, no library.
SCRIPT = r"""
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var page = JSON.parse(document.getElementById("vt-charts").textContent), charts = page.charts;
  var LEFT = page.layout.left, TOP = page.layout.top, PW = page.layout.plot_w, PH = page.layout.plot_h;
  var H = page.layout.height, U = page.layout.units;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function fmtDate(ms, span) {
    var d = new Date(ms), ymd = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1);
    if (span > 2 * 365 * 864e5) return ymd;
    ymd += "-" + pad(d.getUTCDate());
    var hm = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    if (span > 3 * 864e5) return ymd;
    if (span > 18e4) return ymd.slice(5) + " " + hm;
    return hm + ":" + pad(d.getUTCSeconds());
  }
  function fullDate(ms) { return new Date(ms).toISOString().replace("T", " ").slice(0, 19); }
  function pctPlaces(step) {
    var points = Math.abs(step) * 100;
    return points <= 0 ? 2 : Math.max(2, Math.min(8, Math.ceil(-Math.log10(points))));
  }
  function fmtValue(unit, v, places) {
    if (unit === "pct") {
      var p = places || 2, scale = Math.pow(10, p);
      return ((Math.round(v * 100 * scale) / scale) || 0).toFixed(p) + "%";  // never "-0.00%"
    }
    var a = Math.abs(v);
    if (a >= 1000 || v === 0) return v.toLocaleString("en-US", {maximumFractionDigits: 0});
    if (a < 1) return v.toPrecision(4);
    return v.toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }
  function el(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function nearest(ts, t) {
    var lo = 0, hi = ts.length - 1;
    if (hi < 0) return -1;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (ts[mid] < t) lo = mid + 1; else hi = mid; }
    if (lo > 0 && t - ts[lo - 1] < ts[lo] - t) lo -= 1;
    return lo;
  }
  function setup(fig, c) {
    var svg = fig.querySelector("svg.chart"), plot = svg.querySelector("svg.plot");
    var axes = svg.querySelector("g.axes"), cursor = svg.querySelector(".cursor");
    var band = svg.querySelector(".band"), tip = fig.querySelector(".tip");
    var span = c.t1 - c.t0, a = 0, b = U, dragFrom = null, places = 2;
    function X(t) { return span > 0 ? (t - c.t0) / span * U : 0; }
    function T(x) { return c.t0 + x / U * span; }
    function Y(v) { return c.hi > c.lo ? (c.hi - v) / (c.hi - c.lo) * U : U / 2; }
    function draw() {
      var lo = Infinity, hi = -Infinity, t0 = T(a), t1 = T(b);
      c.lines.forEach(function (line) {
        for (var i = 0; i < line.t.length; i++) {
          if (line.t[i] < t0 || line.t[i] > t1) continue;
          lo = Math.min(lo, line.v[i]);
          hi = Math.max(hi, line.v[i]);
        }
      });
      // an entry or exit may be priced outside the sampled line: the range holds it, as the page's does
      c.markers.forEach(function (m) {
        if (m.t < t0 || m.t > t1) return;
        lo = Math.min(lo, m.v);
        hi = Math.max(hi, m.v);
      });
      if (!isFinite(lo)) { lo = c.lo; hi = c.hi; }
      else if (c.markers.length) { var pad = (hi - lo) * page.layout.marker_pad; lo -= pad; hi += pad; }
      if (hi === lo) { hi += Math.abs(hi) * 0.01 || 1; lo -= Math.abs(lo) * 0.01 || 1; }
      var y0 = Y(hi), y1 = Y(lo);
      plot.setAttribute("viewBox", a + " " + y0 + " " + (b - a) + " " + (y1 - y0));
      while (axes.firstChild) axes.removeChild(axes.firstChild);
      places = pctPlaces((hi - lo) / 4);  // the hover read-out uses the axis's places too
      for (var i = 0; i < 5; i++) {
        var f = i / 4, y = TOP + f * PH;
        axes.appendChild(el("line", {x1: LEFT, x2: LEFT + PW, y1: y, y2: y, "class": "grid"}));
        var label = fmtValue(c.unit, hi - f * (hi - lo), places);
        axes.appendChild(el("text", {x: LEFT - 6, y: y + 4, "text-anchor": "end"}, label));
      }
      for (var j = 0; j < 6; j++) {
        var g = j / 5, anchor = j === 0 ? "start" : j === 5 ? "end" : "middle";
        var when = fmtDate(t0 + g * (t1 - t0), t1 - t0);
        axes.appendChild(el("text", {x: LEFT + g * PW, y: H - 8, "text-anchor": anchor}, when));
      }
    }
    function unitAt(ev) {
      var r = plot.getBoundingClientRect();
      var f = Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
      return {x: a + f * (b - a), px: LEFT + f * PW, f: f};
    }
    function zoomTo(na, nb) {
      var min = U / Math.max(span, 1);  // no narrower than a millisecond
      if (nb - na < min) return;
      a = Math.max(0, na); b = Math.min(U, nb); draw();
    }
    plot.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var p = unitAt(ev), k = ev.deltaY < 0 ? 0.8 : 1.25;
      var w = Math.min(U, (b - a) * k), na = p.x - p.f * w;
      na = Math.max(0, Math.min(U - w, na));
      zoomTo(na, na + w);
    }, {passive: false});
    plot.addEventListener("mousedown", function (ev) { dragFrom = unitAt(ev); ev.preventDefault(); });
    window.addEventListener("mouseup", function (ev) {
      if (!dragFrom) return;
      var p = unitAt(ev), from = dragFrom;
      dragFrom = null; band.setAttribute("visibility", "hidden");
      if (Math.abs(p.px - from.px) > 4) zoomTo(Math.min(p.x, from.x), Math.max(p.x, from.x));
    });
    plot.addEventListener("dblclick", function () { a = 0; b = U; draw(); });
    plot.addEventListener("mouseleave", function () {
      cursor.setAttribute("visibility", "hidden");
      tip.hidden = true;
    });
    plot.addEventListener("mousemove", function (ev) {
      var p = unitAt(ev), t = T(p.x);
      if (dragFrom) {
        band.setAttribute("x", Math.min(p.px, dragFrom.px));
        band.setAttribute("width", Math.abs(p.px - dragFrom.px));
        band.setAttribute("visibility", "visible");
      }
      cursor.setAttribute("x1", p.px);
      cursor.setAttribute("x2", p.px);
      cursor.setAttribute("visibility", "visible");
      var rows = [], at = null;
      c.lines.forEach(function (line) {
        var i = nearest(line.t, t);
        if (i < 0) return;
        if (at === null) at = line.t[i];
        rows.push(line.name + ": " + fmtValue(c.unit, line.v[i], places));
      });
      if (at === null) return;
      tip.textContent = "";
      tip.appendChild(document.createTextNode(fullDate(at) + " UTC"));
      rows.forEach(function (r) {
        tip.appendChild(document.createElement("br"));
        tip.appendChild(document.createTextNode(r));
      });
      var box = svg.getBoundingClientRect(), scale = box.width / svg.viewBox.baseVal.width;
      tip.style.left = (p.px * scale + 12) + "px";
      tip.style.top = (TOP * scale + 4) + "px";
      tip.hidden = false;
    });
    draw();
  }
  document.querySelectorAll("figure.chart").forEach(function (fig) {
    var c = charts[fig.getAttribute("data-chart")];
    if (c) setup(fig, c);
  });
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var body = table.tBodies[0];
    table.querySelectorAll("thead th").forEach(function (th, col) {
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "n", asc = th.getAttribute("data-sort") !== "asc";
        table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("data-sort"); });
        th.setAttribute("data-sort", asc ? "asc" : "desc");
        function key(row) {
          var cell = row.cells[col], v = cell.getAttribute("data-v") || cell.textContent;
          return numeric ? parseFloat(v) : v;
        }
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (x, y) {
          var p = key(x), q = key(y), d = p < q ? -1 : p > q ? 1 : 0;
          return asc ? d : -d;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
"""
