"""Request metrics are added up in process and handed to prometheus_client in bulk; what
a scrape shows is what observing each request one by one would show."""

from __future__ import annotations

import random

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from tokenrevoke.observability import metrics


def _samples(registry: CollectorRegistry, family: str, endpoint: str) -> dict[str, float]:
    out = {}
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name.startswith(family) and sample.labels.get("endpoint") == endpoint:
                key = sample.name + ":" + sample.labels.get("le", "")
                out[key] = sample.value
    return out


def test_bulk_observations_expose_what_one_by_one_observations_would() -> None:
    reference = CollectorRegistry()
    labels = ["endpoint", "method", "status"]
    counter = Counter(
        "tokenrevoke_http_requests", "", labels, registry=reference
    )  # the same families as the real ones, in a registry of their own
    histogram = Histogram(
        "tokenrevoke_http_request_duration_seconds", "", labels,
        buckets=metrics._LATENCY_BUCKETS, registry=reference,
    )  # fmt: skip
    rng = random.Random(5)
    durations = [rng.choice([0.0005, 0.001, 0.0025, 10.0]) for _ in range(50)]
    durations += [rng.uniform(0, 3) for _ in range(500)]
    for seconds in durations:
        metrics.observe_request("/test/bulk", "POST", 200, seconds)
        counter.labels("/test/bulk", "POST", "200").inc()
        histogram.labels("/test/bulk", "POST", "200").observe(seconds)
    metrics.exposition()  # flushes first
    ours = _samples(REGISTRY, "tokenrevoke_http_request", "/test/bulk")
    expected = _samples(reference, "tokenrevoke_http_request", "/test/bulk")
    assert ours.keys() == expected.keys() and len(ours) > 10
    for key, value in expected.items():
        assert abs(ours[key] - value) < 1e-6, key
    # Nothing is counted twice by a later flush.
    metrics.flush_metrics()
    assert _samples(REGISTRY, "tokenrevoke_http_request", "/test/bulk") == ours


def _revocation_samples(path: str) -> dict[str, float]:
    return {
        f"{s.name}:{s.labels.get('outcome', '')}": s.value
        for metric in REGISTRY.collect()
        for s in metric.samples
        if s.name.endswith("_total") and s.labels.get("path") == path
    }


def test_revocations_reach_the_exposition_and_are_counted_once() -> None:
    for tokens in (2, 3, 0):
        metrics.revocation("/test/revoke", "revoked", tokens)
    metrics.revocation("/test/revoke", "unknown")
    metrics.exposition()
    counted = _revocation_samples("/test/revoke")
    assert counted == {
        "tokenrevoke_revocations_total:revoked": 3.0,
        "tokenrevoke_revocations_total:unknown": 1.0,
        "tokenrevoke_revoked_tokens_total:": 5.0,
    }
    metrics.flush_metrics()
    assert _revocation_samples("/test/revoke") == counted
