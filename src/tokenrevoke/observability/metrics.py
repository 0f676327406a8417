"""Prometheus metrics: the counters and histograms every layer records into.

Label values are bounded (route templates, a fixed set of methods, script names chosen by
the operator), so no request can create series at will. Label children are cached, and
request observations are added up in plain numbers and handed to prometheus_client in
bulk (at each scrape, and every half second): prometheus_client takes a lock per value
and walks the buckets in Python, ~3 us per request on the hot endpoints.

With several worker processes, `tokenrevoke serve` points `PROMETHEUS_MULTIPROC_DIR` at a
private directory before the workers start; each worker then writes its values there and
`/metrics`, whichever worker serves it, adds up every worker's.
"""

from __future__ import annotations

import os
from bisect import bisect_left

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# `*_created` series double the exposition and say only when the process started.
disable_created_metrics()  # type: ignore[no-untyped-call]

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Token, revoke and introspection answer in well under a millisecond when healthy; an
# interception script or a slow store shows up in the upper buckets.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    2.5, 5.0)  # fmt: skip
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "tokenrevoke_http_requests_total",
    "HTTP requests by endpoint (route template), method and status.",
    ["endpoint", "method", "status"],
)
HTTP_DURATION = Histogram(
    "tokenrevoke_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by endpoint and status.",
    ["endpoint", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
REVOCATIONS = Counter(
    "tokenrevoke_revocations_total",
    "Revocation requests by path (revoke_endpoint, revoke_endpoint_all, config_api, "
    "client_delete, ...) and outcome (revoked, no_match, vetoed, refused, store_error).",
    ["path", "outcome"],
)
REVOKED_TOKENS = Counter(
    "tokenrevoke_revoked_tokens_total",
    "Tokens tombstoned, by revocation path.",
    ["path"],
)
STORE_UNAVAILABLE = Counter(
    "tokenrevoke_store_unavailable_total",
    "Store outages met (each answered 503, or skipped a maintenance round), by component.",
    ["component"],
)
SCRIPT_STOPS = Counter(
    "tokenrevoke_revoke_script_stops_total",
    "Revocations a Revoke Token script stopped, by script and outcome (veto, error, timeout).",
    ["script", "outcome"],
)
AUTH_FAILURES = Counter(
    "tokenrevoke_client_auth_failures_total",
    "Failed client authentications (401 invalid_client from credentials that did not check out).",
)
AUTH_LOCKOUTS = Counter(
    "tokenrevoke_client_auth_lockouts_total",
    "Client ids or addresses that reached their failure limit and were locked out.",
    ["scope"],
)
AUTH_THROTTLED = Counter(
    "tokenrevoke_client_auth_throttled_total",
    "Authentication attempts refused with 429 during a lockout, by scope (client, user, address).",
    ["scope"],
)

# Series that exist from the start, at 0, so that rate() and alerts see their first event
# (oauth/revoking.py's MetricPath and Outcome name the same values; this package imports
# no other layer, so tests/unit/test_revoking.py holds the two together).
DECLARED_REVOCATION_PATHS = (
    "revoke_endpoint",
    "revoke_endpoint_all",
    "config_api",
    "client_delete",
)
DECLARED_REVOCATION_OUTCOMES = ("revoked", "no_match", "vetoed", "refused", "store_error")
for _path in DECLARED_REVOCATION_PATHS:
    for _outcome in DECLARED_REVOCATION_OUTCOMES:
        REVOCATIONS.labels(_path, _outcome)
    REVOKED_TOKENS.labels(_path)
for _component in ("auth_server", "config_api", "maintenance"):
    STORE_UNAVAILABLE.labels(_component)
for _scope in ("client", "user", "address"):
    AUTH_LOCKOUTS.labels(_scope)
    AUTH_THROTTLED.labels(_scope)


class _RequestSeries:
    """One (endpoint, method, status): its counter and histogram, and what was observed
    since they were last brought up to date (plain numbers: no lock per request)."""

    __slots__ = ("bounds", "buckets", "count", "counter", "histogram", "total")

    def __init__(self, counter: Counter, histogram: Histogram) -> None:
        self.counter = counter
        self.histogram = histogram
        self.bounds: list[float] = list(histogram._upper_bounds)  # the last one is +Inf
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * len(self.bounds)

    def flush(self) -> None:
        if not self.count:
            return
        self.counter.inc(self.count)
        # prometheus_client has no public way to add many observations at once: these
        # are the values observe() adds to (tests/unit/test_metrics.py checks the output
        # is the same).
        self.histogram._sum.inc(self.total)
        for value, n in zip(self.histogram._buckets, self.buckets, strict=True):
            if n:
                value.inc(n)
        self.count, self.total = 0, 0.0
        self.buckets = [0] * len(self.bounds)


_request_series: dict[tuple[str, str, int], _RequestSeries] = {}


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count a request. Kept in plain numbers until `flush_metrics`, which the
    exposition runs first and the runtime every half second (for other workers' scrapes)."""
    if method not in _METHODS:
        method = "other"  # any token is a valid HTTP method: keep the label set bounded
    key = (endpoint, method, status)
    series = _request_series.get(key)
    if series is None:
        labels = (endpoint, method, str(status))
        series = _RequestSeries(HTTP_REQUESTS.labels(*labels), HTTP_DURATION.labels(*labels))
        _request_series[key] = series
    series.count += 1
    series.total += seconds
    # The first bucket whose upper bound is >= seconds, as Histogram.observe counts it.
    series.buckets[bisect_left(series.bounds, seconds)] += 1


class _PendingCount:
    """A counter series and what was counted since it was last brought up to date."""

    __slots__ = ("counter", "pending")

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.pending = 0

    def flush(self) -> None:
        if self.pending:
            self.counter.inc(self.pending)
            self.pending = 0


_revocation_series: dict[tuple[str, str], tuple[_PendingCount, _PendingCount]] = {}


def revocation(path: str, outcome: str, tokens: int = 0) -> None:
    """Count a revocation request and the tokens it revoked; in plain numbers until
    `flush_metrics`, as requests are."""
    key = (path, outcome)
    series = _revocation_series.get(key)
    if series is None:
        series = (
            _PendingCount(REVOCATIONS.labels(path, outcome)),
            _PendingCount(REVOKED_TOKENS.labels(path)),
        )
        _revocation_series[key] = series
    series[0].pending += 1
    series[1].pending += tokens


def flush_metrics() -> None:
    """Hand what was counted in plain numbers (requests, revocations) to prometheus_client."""
    for series in list(_request_series.values()):
        series.flush()
    for requests, tokens in list(_revocation_series.values()):
        requests.flush()
        tokens.flush()


def store_unavailable(component: str) -> None:
    STORE_UNAVAILABLE.labels(component).inc()


def exposition() -> tuple[bytes, str]:
    """The text exposition format and its content type."""
    flush_metrics()
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
