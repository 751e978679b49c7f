"""``sweep.html``: the trials as a sortable table and, for two parameters, a heatmap of the objective.

One self-contained file: inline CSS, inline SVG and a few lines of inline JavaScript, nothing fetched,
so it opens from a laptop with no network. Every value from the run is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any

Row = dict[str, Any]

#: report keys shown in the table (every key is in results.csv / results.json)
SHOWN = ("total_return", "sharpe", "max_drawdown", "win_rate", "round_trips", "fills", "fees", "final_equity")

_STYLE = """
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2;cursor:pointer;user-select:none}
th.asc::after{content:" \\25b2"} th.desc::after{content:" \\25bc"}
tr.best td{background:#e8f6e8} tr.error td{color:#a00}
td.text{text-align:left} .meta td{text-align:left}
svg text{font:12px system-ui,sans-serif}
"""

# Sort on click; numbers as numbers, empty cells last in either direction.
_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var asc=!th.classList.contains('asc');
      t.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc')});
      th.classList.add(asc?'asc':'desc');
      var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[i].dataset.v,y=b.cells[i].dataset.v;
        if(x===''&&y==='')return 0; if(x==='')return 1; if(y==='')return -1;
        var nx=parseFloat(x),ny=parseFloat(y),c;
        if(!isNaN(nx)&&!isNaN(ny)&&String(nx)!=='NaN'&&/^-?[0-9.eE+-]+$/.test(x)&&/^-?[0-9.eE+-]+$/.test(y))c=nx-ny;
        else c=x<y?-1:x>y?1:0;
        return asc?c:-c;
      });
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
"""


def render(rows: Sequence[Row], meta: dict[str, Any], names: Sequence[str]) -> str:
    best = meta.get("best_trial")
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>sweep: {escape(str(meta.get('strategy', '')))}</title><style>{_STYLE}</style></head><body>",
        "<h1>Parameter sweep</h1>",
        _meta_table(meta, rows),
    ]
    swept = [n for n in names if len({r["params"].get(n) for r in rows}) > 1]
    if len(swept) >= 2:  # the first two parameters that vary; a third is averaged over
        parts.append(heatmap(rows, swept[0], swept[1], str(meta.get("objective", ""))))
    if meta.get("windows"):
        parts.append(_windows_table(meta["windows"]))
    parts.append("<h2>Trials</h2><p>Click a column to sort.</p>")
    parts.append(_trials_table(rows, names, best))
    parts.append(f"<script>{_SCRIPT}</script></body></html>\n")
    return "".join(parts)


def _meta_table(meta: dict[str, Any], rows: Sequence[Row]) -> str:
    failed = sum(r["status"] != "ok" for r in rows)
    items = [
        ("strategy", meta.get("strategy")),
        ("data", ", ".join(meta.get("data", []))),
        ("objective", meta.get("objective")),
        ("search", meta.get("search")),
        ("seed", meta.get("seed")),
        ("trials", f"{len(rows)} ({failed} failed)"),
        ("best trial", meta.get("best_trial")),
    ]
    if meta.get("fixed_params"):
        items.append(("fixed params", " ".join(meta["fixed_params"])))
    if meta.get("walk_forward_ns"):
        train, test = meta["walk_forward_ns"]
        items.append(("walk-forward", f"train {train / 86_400e9:g} d, test {test / 86_400e9:g} d"))
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(_show(v))}</td></tr>" for k, v in items)
    return f"<table class=meta>{body}</table>"


def _trials_table(rows: Sequence[Row], names: Sequence[str], best: object) -> str:
    head = ["trial", "phase", "window", *names, "status", "objective", *SHOWN, "journal_sha256", "error"]
    out = ["<table class=sortable><thead><tr>"]
    out += [f"<th>{escape(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        cls = "best" if row["trial"] == best else ("error" if row["status"] != "ok" else "")
        cells: list[object] = [row["trial"], row["phase"], row.get("window")]
        cells += [row["params"].get(n) for n in names]
        cells += [row["status"], row.get("objective")]
        cells += [row.get("report", {}).get(k) for k in SHOWN]
        sha = row.get("journal_sha256")
        cells += [sha[:16] if isinstance(sha, str) else None, row.get("error")]
        out.append(f"<tr class='{cls}'>")
        for i, cell in enumerate(cells):
            text = _show(cell)
            align = " class=text" if head[i] in ("phase", "status", "error", "journal_sha256") else ""
            out.append(f"<td data-v='{escape(text)}'{align}>{escape(text)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _windows_table(windows: Sequence[dict[str, Any]]) -> str:
    head = ["window", "train from", "test from", "test to", "chosen", "train objective", "test objective"]
    out = ["<h2>Walk-forward windows</h2><table class=sortable><thead><tr>"]
    out += [f"<th>{escape(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for w in windows:
        chosen = w.get("chosen")
        cells = [
            w["window"],
            _date(w["train_start_ns"]),
            _date(w["train_end_ns"]),
            _date(w["test_end_ns"]),
            " ".join(f"{k}={v}" for k, v in chosen.items()) if chosen else w.get("error"),
            w.get("train_objective"),
            w.get("test_objective"),
        ]
        out.append(
            "<tr>" + "".join(f"<td data-v='{escape(_show(c))}'>{escape(_show(c))}</td>" for c in cells)
        )
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _date(ns: int) -> str:
    import datetime as dt  # noqa: PLC0415

    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def _show(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _number(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _sort_key(text: str) -> tuple[int, Decimal, str]:
    number = _number(text)
    return (0, number, "") if number is not None else (1, Decimal(0), text)


def heatmap(rows: Sequence[Row], x_name: str, y_name: str, objective: str) -> str:
    """The mean objective per (x, y) cell over the trials that ran (train trials in a walk-forward)."""
    cells: dict[tuple[str, str], list[Decimal]] = {}
    xs: set[str] = set()
    ys: set[str] = set()
    for row in rows:
        if row["phase"] == "test":
            continue  # a test trial's parameters were chosen, not swept: it would bias its cell
        x, y = row["params"].get(x_name), row["params"].get(y_name)
        if x is None or y is None:
            continue
        xs.add(x)
        ys.add(y)
        value = _number(row.get("objective"))
        if value is not None:
            cells.setdefault((x, y), []).append(value)
    if not xs or not ys:
        return ""
    x_vals = sorted(xs, key=_sort_key)
    y_vals = sorted(ys, key=_sort_key)
    means = {k: sum(v, Decimal(0)) / len(v) for k, v in cells.items()}
    lo = min(means.values(), default=Decimal(0))
    hi = max(means.values(), default=Decimal(0))
    cw, ch, left, top = 64, 28, 90, 30
    width = left + cw * len(x_vals) + 20
    height = top + ch * len(y_vals) + 50
    out = [
        f"<h2>Heatmap: {escape(objective)} by {escape(x_name)} × {escape(y_name)}</h2>",
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role=img>",
    ]
    for j, y in enumerate(y_vals):
        cy = top + j * ch
        out.append(f"<text x='{left - 6}' y='{cy + ch / 2 + 4}' text-anchor=end>{escape(y)}</text>")
        for i, x in enumerate(x_vals):
            cx = left + i * cw
            mean = means.get((x, y))
            fill = "#ddd" if mean is None else _colour(mean, lo, hi, objective.endswith(":min"))
            label = "" if mean is None else _short(mean)
            tip = f"{x_name}={x} {y_name}={y}: {label or 'no value'}"
            out.append(
                f"<g><title>{escape(tip)}</title><rect x='{cx}' y='{cy}' width='{cw}' height='{ch}' "
                f"fill='{fill}' stroke='#fff'/><text x='{cx + cw / 2}' y='{cy + ch / 2 + 4}' "
                f"text-anchor=middle>{escape(label)}</text></g>"
            )
    base = top + ch * len(y_vals)
    for i, x in enumerate(x_vals):
        out.append(
            f"<text x='{left + i * cw + cw / 2}' y='{base + 16}' text-anchor=middle>{escape(x)}</text>"
        )
    out.append(
        f"<text x='{left + cw * len(x_vals) / 2}' y='{base + 38}' text-anchor=middle>{escape(x_name)}</text>"
    )
    out.append(f"<text x='12' y='{top - 10}'>{escape(y_name)}</text></svg>")
    return "".join(out)


def _short(value: Decimal) -> str:
    return f"{value:.4g}" if abs(value) < 10_000 else f"{value:.3e}"


def _colour(value: Decimal, lo: Decimal, hi: Decimal, minimize: bool) -> str:
    """Red (worst) through yellow to green (best): the lowest value is best for a minimised objective."""
    t = 0.5 if hi == lo else float((value - lo) / (hi - lo))
    if minimize:
        t = 1 - t
    r = 220 if t < 0.5 else round(220 - (t - 0.5) * 2 * 160)
    g = round(80 + t * 2 * 120) if t < 0.5 else 200
    return f"rgb({r},{g},90)"
