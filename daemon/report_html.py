"""``report.html``: a self-contained page (inline SVG, no scripts, no network) a person can open."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from daemon.report import EquityPoint, Report, RoundTrip, display
from engines.units import NS_PER_SECOND

WIDTH, HEIGHT, PAD = 900, 260, 40


def _polyline(values: Sequence[Decimal], *, invert: bool = False) -> tuple[str, Decimal, Decimal]:
    if not values:
        return "", Decimal(0), Decimal(0)
    lo, hi = min(values), max(values)
    span = (hi - lo) or Decimal(1)
    step = Decimal(WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    # Thin very long curves to about one point per pixel: the page stays small and fast.
    stride = max(1, len(values) // (WIDTH - 2 * PAD))
    points = []
    for i in range(0, len(values), stride):
        frac = (values[i] - lo) / span
        y = PAD + (frac if invert else 1 - frac) * (HEIGHT - 2 * PAD)
        points.append(f"{PAD + step * i:.1f},{y:.1f}")
    return " ".join(points), lo, hi


def _when(ts_ns: int) -> str:
    """Exchange time as a UTC ISO timestamp, to the second (the journal keeps the nanoseconds)."""
    return dt.datetime.fromtimestamp(ts_ns // NS_PER_SECOND, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _chart(
    title: str, values: Sequence[Decimal], colour: str, span: tuple[str, str], *, invert: bool = False
) -> str:
    points, lo, hi = _polyline(values, invert=invert)
    top, bottom = (lo, hi) if invert else (hi, lo)
    label = html.escape(title)
    return f"""<figure><figcaption>{label}</figcaption>
<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{label}">
<rect x="{PAD}" y="{PAD}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}" fill="#fafafa" stroke="#ccc"/>
<text x="4" y="{PAD}" font-size="11">{top:.6g}</text>
<text x="4" y="{HEIGHT - PAD}" font-size="11">{bottom:.6g}</text>
<text x="{PAD}" y="{HEIGHT - PAD + 16}" font-size="11">{span[0]}</text>
<text x="{WIDTH - PAD}" y="{HEIGHT - PAD + 16}" font-size="11" text-anchor="end">{span[1]}</text>
<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>
</svg></figure>"""


def render(report: Report, curve: Sequence[EquityPoint], trips: Sequence[RoundTrip]) -> str:
    raw = msgspec.to_builtins(report)
    assert isinstance(raw, dict)
    rows = "\n".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(display(v))}</td></tr>" for k, v in raw.items()
    )
    warnings = "".join(f'<p class="warning">Warning: {html.escape(w)}</p>' for w in report.warnings)
    trip_rows = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(v))}</td>"
            for v in (
                t.symbol,
                t.side,
                t.quantity,
                t.entry_ts_ns,
                t.exit_ts_ns,
                t.entry_price,
                t.exit_price,
                t.pnl,
            )
        )
        + "</tr>"
        for t in trips[:500]
    )
    more = f"<p>{len(trips) - 500} more in trades.csv</p>" if len(trips) > 500 else ""
    title = html.escape(f"{report.strategy} ({report.strategy_type})")
    span = (_when(curve[0].ts_ns), _when(curve[-1].ts_ns)) if curve else ("", "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>VibeTrading report: {title}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}
th,td{{border:1px solid #ddd;padding:3px 8px;text-align:left}}figure{{margin:1em 0}}
.warning{{background:#fff8c5;border:1px solid #d4a72c;padding:6px 10px}}</style></head>
<body><h1>Replay report: {title}</h1>
{warnings}
{_chart(f"Equity ({report.currency})", [p.equity for p in curve], "#1f6feb", span)}
{_chart("Drawdown", [p.drawdown for p in curve], "#cf222e", span, invert=True)}
<h2>Summary</h2><table>{rows}</table>
<h2>Round trips</h2><table><tr><th>symbol</th><th>side</th><th>qty</th><th>entry (UTC)</th><th>exit (UTC)</th>
<th>entry</th><th>exit</th><th>pnl</th></tr>{trip_rows}</table>{more}
</body></html>
"""
