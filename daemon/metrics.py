"""The daemon's Prometheus metrics, kept in a registry of their own.

A dedicated :class:`~prometheus_client.CollectorRegistry` (never the library's global one) means two
daemons in one test process do not collide and nothing a library registers leaks into ``/metrics``.

Naming follows the Prometheus conventions, and :func:`naming_problems` checks an exposition against
them so a badly named metric fails a test rather than a dashboard: every name starts ``vibetrading_``,
durations are in seconds (the base unit), counters end ``_total`` and nothing else does, and labels are
drawn from a small set of low-cardinality names. An order id or client id as a label would create a
series per order; a secret as a label value would publish it, so labels never carry either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

__all__ = [
    "ALLOWED_LABELS",
    "CONTENT_TYPE",
    "PREFIX",
    "Metrics",
    "naming_problems",
]

PREFIX = "vibetrading_"
CONTENT_TYPE = CONTENT_TYPE_LATEST

#: every label a vibetrading metric may carry; each has a handful of values at most
ALLOWED_LABELS = frozenset({"venue", "result", "stream", "kind"})

# Wire-to-wire decisions take tens to hundreds of microseconds; a venue round trip takes milliseconds.
_LATENCY_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)
# A group commit is a write plus an fdatasync: about 0.1-0.2 ms on this machine class, far more on a
# busy disk.
_COMMIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

_NAME = re.compile(r"^vibetrading_[a-z][a-z0-9_]*[a-z0-9]$")
# units other than the base one, as name segments: ``_ms``, ``_milliseconds`` and the like
_NON_BASE_UNITS = re.compile(
    r"_(ms|msec|millis|milliseconds|us|usec|micros|microseconds|ns|nanoseconds|minutes|hours|days|"
    r"percent|kb|mb|gb|kilobytes|megabytes)(_|$)"
)
# a name that measures time must say it is in seconds
_TIME_WORDS = re.compile(r"_(latency|lag|age|duration|time|delay|wait)(_|$)")
_ID_LABEL = re.compile(r"(^|_)(id|ids|oid|cid|order|order_id|client_id|trade_id)$")
_SAMPLE_SUFFIXES = ("_bucket", "_count", "_sum", "_created", "_total")


class Metrics:
    """The metric set of one daemon; :meth:`exposition` is what ``/metrics`` serves."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter(
            "vibetrading_events_total",
            "Events delivered to an engine (kind: market or fact).",
            ["kind"],
            registry=r,
        )
        self.orders = Counter(
            "vibetrading_orders_total",
            "Order requests sent, by venue and outcome (accepted, rejected, unknown, refused).",
            ["venue", "result"],
            registry=r,
        )
        self.fills = Counter("vibetrading_fills_total", "Fills applied, by venue.", ["venue"], registry=r)
        self.duplicate_fills_dropped = Counter(
            "vibetrading_duplicate_fills_dropped_total",
            "Fills seen twice (same trade id, e.g. from the stream and a query) and dropped.",
            ["venue"],
            registry=r,
        )
        self.orders_unknown = Gauge(
            "vibetrading_orders_unknown_state",
            "Orders whose outcome is not known yet (being resolved by query, never by resubmission).",
            ["venue"],
            registry=r,
        )
        self.tick_to_order_latency = Histogram(
            "vibetrading_tick_to_order_latency_seconds",
            "From a market data frame's arrival to its order request leaving, in seconds.",
            ["venue"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.stream_message_age = Gauge(
            "vibetrading_stream_message_age_seconds",
            "Seconds since the last message on a stream (market or account), at scrape time.",
            ["venue", "stream"],
            registry=r,
        )
        self.reconnects = Counter(
            "vibetrading_stream_reconnects_total",
            "Stream reconnections after a drop, by venue and stream.",
            ["venue", "stream"],
            registry=r,
        )
        self.reconciliation_differences = Counter(
            "vibetrading_reconciliation_differences_total",
            "Differences between the journal and the venue found at start (result: explained or "
            "unexplained).",
            ["venue", "result"],
            registry=r,
        )
        self.loop_lag = Gauge(
            "vibetrading_event_loop_lag_seconds",
            "How late the event loop ran a timer, most recent measurement, in seconds.",
            registry=r,
        )
        self.journal_commit = Histogram(
            "vibetrading_journal_commit_duration_seconds",
            "Duration of one journal group commit (write and fsync), in seconds.",
            buckets=_COMMIT_BUCKETS,
            registry=r,
        )
        self.halted = Gauge(
            "vibetrading_halted",
            "1 while trading is halted (kill switch, risk limit or unexplained difference), else 0.",
            registry=r,
        )

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


def naming_problems(text: str, *, allowed_labels: Iterable[str] = ALLOWED_LABELS) -> list[str]:
    """Every way the metrics in the exposition ``text`` break the naming rules; empty when none do."""
    allowed = frozenset(allowed_labels)
    problems: list[str] = []
    types: dict[str, str] = {}
    # The parser strips ``_total`` from a counter family's name, so read the declared names from the
    # TYPE lines, as a scraper sees them.
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) == 4:
                types[parts[2]] = parts[3]
    for name, kind in sorted(types.items()):
        if kind == "gauge" and name.endswith("_created") and name.removesuffix("_created") in _stems(types):
            # prometheus-client's creation timestamps of a counter or histogram: named after their family
            continue
        if not _NAME.match(name):
            problems.append(f"{name}: must be vibetrading_ followed by lower-case snake_case")
        if kind == "counter" and not name.endswith("_total"):
            problems.append(f"{name}: a counter must end in _total")
        if kind != "counter" and name.endswith("_total"):
            problems.append(f"{name}: only a counter ends in _total ({kind})")
        unit = _NON_BASE_UNITS.search(name)
        if unit:
            problems.append(f"{name}: use base units (seconds, bytes, ratios), not _{unit.group(1)}")
        base = name.removesuffix("_total")
        if _TIME_WORDS.search(base) and not base.endswith("_seconds"):
            problems.append(f"{name}: a time measurement must end in _seconds")
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.name.startswith(PREFIX):
                problems.append(f"{sample.name}: sample outside the vibetrading_ namespace")
            if not any(sample.name == family.name + s for s in ("", *_SAMPLE_SUFFIXES)):
                problems.append(f"{sample.name}: sample does not belong to family {family.name}")
            for label in sample.labels:
                if label in ("le", "quantile"):
                    continue
                if _ID_LABEL.search(label):
                    problems.append(f"{sample.name}: label {label!r} would make a series per order")
                elif label not in allowed:
                    problems.append(f"{sample.name}: label {label!r} is not one of {sorted(allowed)}")
    return sorted(set(problems))


def _stems(types: dict[str, str]) -> set[str]:
    return {name.removesuffix("_total") for name, kind in types.items() if kind != "gauge"}
