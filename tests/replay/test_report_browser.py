"""A real replay's ``report.html`` opened in headless Chromium with no network (docs/report.md).

The page is judged as the browser left it (``--dump-dom`` after the inline script ran): the charts
the script redrew, the round trips with UTC dates, the monthly returns, no Python repr, nothing
loaded from the network, no uncaught error. A second page, the same report with a probe script
appended, clicks, wheels and hovers and writes down what happened. Each check is shown to fail on a
page broken on purpose. Skipped when no Chromium is installed (render_report.find_chromium).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.replay import ReplayConfig, replay
from tests.replay.render_report import (
    ENV,
    UTC_SECOND,
    ChromiumNotFound,
    Node,
    Run,
    check_dom,
    console_errors,
    dump_dom,
    find_chromium,
    parse,
    read_png,
    screenshot,
)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "replay_fixtures" / "krx-kospi6-daily"
SMA = REPO / "strategies" / "examples" / "sma_cross.py"
#: the bundled fixture, so the test needs nothing beside the repository; 21 round trips, 4 years
PARAMS = ("symbol=krx:005930", "size=100")


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return find_chromium()
    except ChromiumNotFound as e:
        if os.environ.get(ENV):
            pytest.fail(str(e))  # asked for by name: a wrong path is a mistake, not a skip
        pytest.skip(f"headless browser test: {e}")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report-browser") / "run"
    cfg = ReplayConfig(
        strategy=SMA,
        data=(FIXTURE,),
        out=out,
        params=PARAMS,
        cash=Decimal(10_000_000),
        fee_bps=Decimal(15),
        quiet=True,
    )
    result = replay(cfg)
    assert result.report.round_trips > 10, "a run without round trips leaves the tables empty"
    return out


@pytest.fixture(scope="module")
def report(run_dir: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((run_dir / "report.json").read_text())
    return loaded


@pytest.fixture(scope="module")
def rendered(chromium: str, run_dir: Path) -> Run:
    return dump_dom(chromium, run_dir / "report.html")


def test_the_report_renders_offline_as_documented(rendered: Run, report: dict[str, object]) -> None:
    assert console_errors(rendered.log) == []
    assert check_dom(rendered.out, report) == []
    # what the browser shows of a round trip is the journal's time, in UTC
    root = parse(rendered.out)
    first = root.find("table", "trades")[0].find("tbody")[0].find("tr")[0].find("td")
    assert UTC_SECOND.fullmatch(first[4].all_text())
    entry_ns = int(first[4].attrs["data-v"])
    assert first[4].all_text().startswith(_utc_date(entry_ns))


def _utc_date(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns // 10**9, tz=dt.UTC).strftime("%Y-%m-%d")


# Each way to break the page, and what the checks must say about it.
SCRIPT_TAG = re.compile(r"<script>\n\(function \(\) \{.*?</script>", re.S)


def _no_script(page: str) -> str:
    broken, n = SCRIPT_TAG.subn("", page)
    assert n == 1
    return broken


def _throws(page: str) -> str:
    return page.replace('"use strict";', '"use strict"; throw new Error("vt-broken");', 1)


def _python_repr(page: str) -> str:
    return page.replace('<td class="why">', "<td class=\"why\">Decimal('0.1') None", 1)


def _raw_ns(page: str) -> str:
    found = re.search(r'<td data-v="(\d+)">[^<]*</td>', page)
    assert found
    return page.replace(found.group(0), f'<td data-v="{found.group(1)}">{found.group(1)}</td>', 1)


def _network(page: str) -> str:
    """An image loaded over the network (any http(s) reference is what the page must not hold), on
    loopback port 9, which nothing serves: the test reaches no other machine."""
    return page.replace("<h2>Metrics</h2>", '<img src="https://127.0.0.1:9/pixel.png"><h2>Metrics</h2>', 1)


def _empty_chart(page: str) -> str:
    return re.sub(r'(<polyline [^>]*points=")[^"]*"', r'\1"', page, count=1)


def _lost_dot(page: str) -> str:
    return page.replace('stroke="#cf222e" stroke-width="7"', 'stroke="#000000" stroke-width="7"', 1)


def _no_monthly(page: str) -> str:
    return re.sub(r'<table class="monthly">.*?</table>', "", page, count=1, flags=re.S)


BREAKERS = {
    "no script": (_no_script, ("the script did not run",)),
    "script throws": (_throws, ("Uncaught Error: vt-broken", "the script did not run")),
    "python repr": (_python_repr, ("a Python Decimal repr", "a Python None")),
    "raw nanoseconds": (_raw_ns, ("is not a UTC date and time", "a raw nanosecond timestamp")),
    "network": (_network, ("loads from the network",)),
    "empty chart": (_empty_chart, ("fewer than 2 points",)),
    "no monthly returns": (_no_monthly, ("no monthly returns table",)),
    "an exit dot lost": (_lost_dot, ("entry and exit dots on the price charts",)),
}


@pytest.mark.parametrize("name", sorted(BREAKERS))
def test_the_checks_notice_a_broken_page(
    name: str, chromium: str, run_dir: Path, report: dict[str, object], tmp_path: Path
) -> None:
    breaker, phrases = BREAKERS[name]
    page = tmp_path / "report.html"
    page.write_text(breaker((run_dir / "report.html").read_text()))
    run = dump_dom(chromium, page)
    problems = console_errors(run.log) + check_dom(run.out, report)
    for said in phrases:
        assert any(said in p for p in problems), (said, problems)


# Appended after the page's own script: uses the page as a person would and writes down the result.
PROBE = """<script>
window.addEventListener("load", function () {
  var out = {errors: window.vtErrors};
  try {
    // every fetch the page made, failed ones too (no name resolves in the test's browser)
    out.resources = performance.getEntriesByType("resource").map(function (e) { return e.name; });
    var heads = Array.prototype.slice.call(document.querySelectorAll("table.trades thead th"));
    var pnl = heads.filter(function (h) { return h.textContent === "PnL"; })[0];
    pnl.dispatchEvent(new MouseEvent("click", {bubbles: true}));
    out.sort = pnl.getAttribute("data-sort");
    out.pnl = Array.prototype.map.call(document.querySelectorAll("table.trades tbody tr"),
      function (r) { return r.cells[8].getAttribute("data-v"); });
    var fig = document.querySelector('figure[data-chart="equity"]'), plot = fig.querySelector("svg.plot");
    var box = plot.getBoundingClientRect(), x = box.left + box.width / 2, y = box.top + box.height / 2;
    out.before = plot.getAttribute("viewBox");
    plot.dispatchEvent(new WheelEvent("wheel",
      {deltaY: -100, clientX: x, clientY: y, bubbles: true, cancelable: true}));
    out.zoomed = plot.getAttribute("viewBox");
    plot.dispatchEvent(new MouseEvent("mousemove", {clientX: x, clientY: y, bubbles: true}));
    var tip = fig.querySelector(".tip");
    out.tip = tip.hidden ? null : Array.prototype.map.call(tip.childNodes,
      function (n) { return n.textContent; }).filter(function (t) { return t; });
    plot.dispatchEvent(new MouseEvent("dblclick", {bubbles: true}));
    out.reset = plot.getAttribute("viewBox");
  } catch (e) { out.failed = String(e); }
  var pre = document.createElement("pre");
  pre.id = "vt-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""
CATCH = '<script>window.vtErrors = []; window.addEventListener("error", function (e) {\
 window.vtErrors.push(String(e.message)); });</script>'


def _probe(chromium: str, html: str, tmp_path: Path) -> dict[str, object]:
    page = tmp_path / "probed.html"
    page.write_text(html.replace("<head>", "<head>" + CATCH, 1).replace("</body>", PROBE + "</body>", 1))
    pres = [n for n in parse(dump_dom(chromium, page).out).find("pre") if n.attrs.get("id") == "vt-probe"]
    assert len(pres) == 1, "the probe did not run"
    found: dict[str, object] = json.loads(pres[0].all_text())
    return found


def _width(view_box: object) -> float:
    assert isinstance(view_box, str)
    return float(view_box.split()[2])


def test_sort_zoom_and_hover_work(
    chromium: str, run_dir: Path, report: dict[str, object], tmp_path: Path
) -> None:
    got = _probe(chromium, (run_dir / "report.html").read_text(), tmp_path)
    assert got.get("failed") is None and got["errors"] == []
    assert got["resources"] == []
    assert got["sort"] == "asc"
    pnl = got["pnl"]
    assert isinstance(pnl, list) and len(pnl) == report["round_trips"]
    values = [Decimal(v) for v in pnl]
    assert values == sorted(values)
    # the wheel zooms in by a fifth around the pointer; a double-click shows everything again
    assert _width(got["before"]) == 1000
    assert _width(got["zoomed"]) == pytest.approx(800)
    assert _width(got["reset"]) == 1000
    tip = got["tip"]
    assert isinstance(tip, list) and len(tip) == 3, tip
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", tip[0])
    assert tip[1].startswith(f"equity ({report['currency']}): ") and tip[2].startswith("buy and hold: ")


def test_the_probe_notices_a_broken_page(chromium: str, run_dir: Path, tmp_path: Path) -> None:
    got = _probe(chromium, _network(_no_script((run_dir / "report.html").read_text())), tmp_path)
    assert got["resources"] == ["https://127.0.0.1:9/pixel.png"]
    assert got["sort"] is None
    assert got["zoomed"] == got["before"]
    assert got["tip"] is None


def test_the_screenshot_is_a_drawn_page(chromium: str, run_dir: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    screenshot(chromium, run_dir / "report.html", png, window=(1400, 2400))
    info = read_png(png)
    assert (info.width, info.height) == (1400, 2400)
    blank_page = tmp_path / "blank.html"
    blank_page.write_text("<!doctype html><html><body></body></html>")
    screenshot(chromium, blank_page, tmp_path / "blank.png", window=(1400, 2400))
    blank = read_png(tmp_path / "blank.png")
    # the same measures on a blank page of the same size: what "not blank" is measured against
    assert (blank.width, blank.height) == (1400, 2400)
    assert blank.distinct_bytes < 16
    assert info.distinct_bytes > 64
    assert info.size > 5 * blank.size


def test_a_file_that_is_not_a_png_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"GIF89a" + bytes(100))
    with pytest.raises(ValueError, match="not a PNG"):
        read_png(fake)


def _axis_labels(root: Node) -> dict[str, list[str]]:
    return {
        fig.attrs["data-chart"]: [t.all_text() for t in fig.find("g", "axes")[0].find("text")]
        for fig in root.find("figure", "chart")
    }


def test_the_script_redraws_the_writers_axes(rendered: Run, run_dir: Path) -> None:
    """Unzoomed, the script's axes say what the writer's say, so the page reads the same with and
    without scripts. The values may differ in the last digit (JavaScript and Python round halves
    differently), not by more: a y-range that left out an entry or exit dot would show here."""
    written = _axis_labels(parse((run_dir / "report.html").read_text()))
    drawn = _axis_labels(parse(rendered.out))
    assert drawn.keys() == written.keys()
    for key, labels in written.items():
        assert drawn[key][5:] == labels[5:], key  # the dates
        want, got = _numbers(labels[:5]), _numbers(drawn[key][:5])
        slack = (max(want) - min(want)) * 1e-3 + 1e-9
        assert all(abs(w - g) <= slack for w, g in zip(want, got, strict=True)), (key, labels, drawn[key])


def _numbers(labels: list[str]) -> list[float]:
    return [float(label.replace(",", "").rstrip("%")) for label in labels]
