"""Open a replay's ``report.html`` in headless Chromium, offline, and judge what the browser built.

``python tests/replay/render_report.py REPORT_HTML OUT_PNG`` writes a screenshot and prints every
problem :func:`check_dom` finds in the page as the browser left it (exit status 1 if any). The
browser is the first of ``$VIBETRADING_CHROMIUM``, ``chromium``, ``chromium-browser`` and
``google-chrome``. Used by tests/replay/test_report_browser.py.

Only the standard library: the project takes no dependency for a test of its own page.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

ENV = "VIBETRADING_CHROMIUM"
NAMES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 60
WINDOW = (1400, 2400)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: the page's chart colours for a round trip's entry and exit dots (daemon/report_html.py)
ENTRY, EXIT = "#1a7f37", "#cf222e"
UTC_SECOND = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
PERCENT = re.compile(r"-?\d+\.\d\d%")
#: a value the page must never show: Python reprs, and exchange time left as integer nanoseconds
LEAKS = {
    "a Python Decimal repr": re.compile(r"Decimal\("),
    "a Python None": re.compile(r"\bNone\b"),
    "a Python bool": re.compile(r"\b(?:True|False)\b"),
    "a Python dict or list repr": re.compile(r"\{'|\['|\bdatetime\.|<[a-z_.]+ object at"),
    # a loss too small to show must not read as a negative zero
    "a negative zero": re.compile(r"-0(?:\.0+)?%"),
}
#: exchange time left as integer nanoseconds (not inside a hex digest); only the table of raw
#: report.json keys may show them, as report.json holds them
RAW_NS = re.compile(r"(?<![0-9a-fA-F.])1\d{18}(?![0-9a-fA-F.])")


class ChromiumNotFound(Exception):
    pass


def find_chromium() -> str:
    """The browser to use; an explicit ``$VIBETRADING_CHROMIUM`` that is not a program is an error,
    never a silent fall-back to another browser."""
    explicit = os.environ.get(ENV)
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise ChromiumNotFound(f"{ENV}={explicit!r} is not an executable program")
        return found
    for name in NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise ChromiumNotFound(f"no {', '.join(NAMES)} on PATH and {ENV} is not set")


@dataclass(frozen=True)
class Run:
    out: str
    log: str  # Chromium's stderr with console logging: where a page's uncaught error shows


def _chromium(chromium: str, page: Path, *action: str, timeout: float = TIMEOUT_S) -> Run:
    with tempfile.TemporaryDirectory(prefix="vt-chromium-") as profile:
        argv = [
            chromium,
            "--headless",
            "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            # no name resolves, so a page that reaches for the network fails visibly instead of
            # depending on what the machine can reach
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            # lets the inline script finish before the dump or the picture is taken
            "--virtual-time-budget=5000",
            *action,
            page.resolve().as_uri(),
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{chromium} exited {done.returncode}: {done.stderr[-2000:]}")
    return Run(done.stdout, done.stderr)


def dump_dom(chromium: str, page: Path, *, timeout: float = TIMEOUT_S) -> Run:
    """The DOM as the page's own script left it."""
    return _chromium(chromium, page, "--dump-dom", timeout=timeout)


def screenshot(
    chromium: str, page: Path, png: Path, *, window: tuple[int, int] = WINDOW, timeout: float = TIMEOUT_S
) -> Run:
    png.parent.mkdir(parents=True, exist_ok=True)
    return _chromium(
        chromium,
        page,
        f"--screenshot={png.resolve()}",
        f"--window-size={window[0]},{window[1]}",
        "--hide-scrollbars",
        timeout=timeout,
    )


def console_errors(log: str) -> list[str]:
    """The page's uncaught errors and failed loads, as Chromium's console logging writes them."""
    return [
        line
        for line in log.splitlines()
        if "CONSOLE" in line and ("Uncaught" in line or "Failed to load" in line or "net::ERR" in line)
    ]


# ── the DOM as a tree ───────────────────────────────────────────────────────────────────────────


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # this element's own text pieces

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

    def walk(self) -> list[Node]:
        out = [self]
        for child in self.children:
            out += child.walk()
        return out

    def find(self, tag: str, cls: str | None = None, **attrs: str) -> list[Node]:
        """Descendants (not self) by tag, one class, and attribute values."""
        return [
            n
            for n in self.walk()[1:]
            if n.tag == tag
            and (cls is None or cls in n.classes())
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


# elements that never have content, so they close themselves in the dump
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)


def parse(markup: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    return builder.root


# ── what the page promises (docs/report.md) ─────────────────────────────────────────────────────


def _script_drew(axes: Node) -> bool:
    """The writer prints the axes' coordinates with one decimal ("10.0"); the script redraws them as
    JavaScript numbers ("10"). So integral coordinates written without ".0" mean the script ran."""
    grid = axes.find("line", "grid")
    return len(grid) == 5 and all(not line.attrs.get("y1", "").endswith(".0") for line in grid)


def check_dom(dom: str, report: dict[str, object]) -> list[str]:
    """Every way the page in the browser falls short of docs/report.md; ``report`` is report.json."""
    problems: list[str] = []
    root = parse(dom)
    data = [n for n in root.find("script") if n.attrs.get("id") == "vt-charts"]
    charts: dict[str, object] = json.loads(data[0].all_text())["charts"] if data else {}
    if not charts:
        problems.append("no chart data (script#vt-charts)")

    figures = {f.attrs.get("data-chart", ""): f for f in root.find("figure", "chart")}
    if set(figures) != set(charts):
        problems.append(f"figures {sorted(figures)} are not the charts in the data {sorted(charts)}")
    for want in ("equity", "drawdown", "price0"):
        if want not in figures:
            problems.append(f"no {want} chart")
    for key, fig in figures.items():
        plots = fig.find("svg", "plot")
        axes = fig.find("g", "axes")
        if not plots or not axes:
            problems.append(f"chart {key}: no plot or axes")
            continue
        lines = plots[0].find("polyline")
        if not lines or any(len(p.attrs.get("points", "").split()) < 2 for p in lines):
            problems.append(f"chart {key}: a line with fewer than 2 points")
        if not _script_drew(axes[0]):
            problems.append(f"chart {key}: the axes are the writer's, so the script did not run")
        labels = [t.all_text() for t in axes[0].find("text")]
        if len(labels) != 11 or not all(labels):
            problems.append(f"chart {key}: {len(labels)} axis labels, some empty: {labels}")

    trips = report.get("round_trips")
    assert isinstance(trips, int)
    tables = root.find("table", "trades")
    if not tables:
        # a run without round trips says so instead of showing an empty table
        if trips or not any(p.all_text() == "No round trip closed." for p in root.find("p")):
            problems.append("no round-trips table")
    else:
        rows = tables[0].find("tbody")[0].find("tr") if tables[0].find("tbody") else []
        if len(rows) != min(trips, 2000):
            problems.append(f"{len(rows)} round-trip rows for {trips} round trips")
        for i, row in enumerate(rows, 1):
            cells = [c.all_text() for c in row.find("td")]
            if len(cells) != 11:
                problems.append(f"round trip {i}: {len(cells)} cells")
                break
            for col in (4, 6):
                if not UTC_SECOND.fullmatch(cells[col]):
                    problems.append(f"round trip {i}: time cell {cells[col]!r} is not a UTC date and time")
        if len(tables[0].find("th", data_sort="asc")) + len(tables[0].find("th", data_sort="desc")):
            problems.append("the round trips are sorted before anyone clicked")
        # each round trip of a charted symbol is an entry dot and an exit dot on its price chart
        charted = {
            line.all_text()
            for k, f in figures.items()
            if k.startswith("price")
            for line in f.find("span", "key")
        }
        dots = sum(
            len(f.find("line", stroke=colour))
            for k, f in figures.items()
            if k.startswith("price")
            for colour in (ENTRY, EXIT)
        )
        ends = 2 * sum(1 for row in rows if row.find("td")[1].all_text() in charted)
        if trips <= len(rows) and dots != ends:
            problems.append(f"{dots} entry and exit dots on the price charts, {ends} round-trip ends")

    monthly = root.find("table", "monthly")
    months = report.get("monthly_returns")
    assert isinstance(months, dict)
    if not monthly:
        problems.append("no monthly returns table")
    else:
        years = [r for r in monthly[0].find("tr") if r.find("td")]  # not the header
        want_years = sorted({m[:4] for m in months})
        got_years = [r.find("th")[0].all_text() for r in years]
        if got_years != want_years:
            problems.append(f"monthly returns years {got_years}, report.json has {want_years}")
        filled = [c.all_text() for r in years for c in r.find("td") if c.all_text()]
        # a filled cell per month, and one for each year's total
        if len(filled) != len(months) + len(want_years) or not all(PERCENT.fullmatch(c) for c in filled):
            problems.append(f"monthly returns cells {filled} do not match {len(months)} months")

    metrics = root.find("table", "metrics")
    if not metrics or len(metrics[0].find("tr")) < 10:
        problems.append("no metrics table")

    body = root.find("body")
    shown = [n for n in (body[0].children if body else []) if n.tag not in ("script", "style")]
    visible = "\n".join(_text_but(n, set()) for n in shown)
    for what, pattern in LEAKS.items():
        _leak(problems, what, pattern, visible)
    raw_keys = {id(n) for n in root.find("table", "raw")}
    _leak(problems, "a raw nanosecond timestamp", RAW_NS, "\n".join(_text_but(n, raw_keys) for n in shown))

    for node in root.walk():
        for name, value in node.attrs.items():
            if name in ("src", "href", "xlink:href", "action", "poster", "data") and re.match(
                r"\s*(?:https?:)?//", value
            ):
                problems.append(f"<{node.tag} {name}={value!r}> loads from the network")
        style = node.attrs.get("style", "") + ("".join(node.text) if node.tag == "style" else "")
        if re.search(r"url\(\s*['\"]?\s*(?:https?:)?//|@import", style):
            problems.append(f"<{node.tag}> style loads from the network: {style[:120]!r}")
    return problems


def _text_but(node: Node, skip: set[int]) -> str:
    if id(node) in skip:
        return ""
    # one piece a line: a cell's text must not run into its neighbour's ("10" and a timestamp)
    return "\n".join([*node.text, *(_text_but(c, skip) for c in node.children)])


def _leak(problems: list[str], what: str, pattern: re.Pattern[str], text: str) -> None:
    found = pattern.search(text)
    if found:
        around = text[max(0, found.start() - 40) : found.end() + 40]
        problems.append(f"{what} on the page: {around!r}")


# ── the picture ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    size: int  # bytes of the file
    distinct_bytes: int  # distinct byte values in the decompressed (filtered) image data


def read_png(path: Path) -> Png:
    """Check the signature and chunk layout; return the IHDR size and how varied the image is.

    Decoding the pixels would need the PNG row filters undone in pure Python (seconds for a page);
    a blank page's filtered rows hold a handful of byte values, a drawn page's hold nearly all 256.
    """
    raw = path.read_bytes()
    if raw[:8] != PNG_SIGNATURE:
        raise ValueError(f"{path} is not a PNG (signature {raw[:8]!r})")
    pos, idat, width, height = 8, bytearray(), 0, 0
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        kind, body = raw[pos + 4 : pos + 8], raw[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", raw[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"{path}: bad CRC in a {kind!r} chunk")
        if pos == 8:
            if kind != b"IHDR":
                raise ValueError(f"{path}: the first chunk is {kind!r}, not IHDR")
            width, height = struct.unpack(">II", body[:8])
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
        if kind == b"IEND":
            break
    pixels = zlib.decompress(bytes(idat))
    return Png(width, height, len(raw), len(set(pixels)))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tests/replay/render_report.py REPORT_HTML OUT_PNG", file=sys.stderr)
        return 2
    page, png = Path(argv[0]), Path(argv[1])
    chromium = find_chromium()
    run = dump_dom(chromium, page)
    problems = console_errors(run.log)
    report_json = page.with_name("report.json")
    if report_json.exists():
        problems += check_dom(run.out, json.loads(report_json.read_text()))
    screenshot(chromium, page, png)
    info = read_png(png)
    print(f"{png}: {info.width}x{info.height}, {info.size:,} bytes")
    for problem in problems:
        print(f"problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
