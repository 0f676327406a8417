"""The revocation vocabulary: the values every path writes stay the wire contract."""

from __future__ import annotations

from tokenrevoke.model import TokenRecord, TokenType
from tokenrevoke.oauth.revoking import (
    Actor,
    MetricPath,
    Outcome,
    Reason,
    client_tokens,
    global_audit,
    grant_of,
    of_session,
    of_user,
)
from tokenrevoke.observability.metrics import (
    DECLARED_REVOCATION_OUTCOMES,
    DECLARED_REVOCATION_PATHS,
    REVOCATIONS,
)
from tokenrevoke.store.base import TargetKind


def record(code: str, grant: str, client: str = "c1") -> TokenRecord:
    return TokenRecord(code, grant, client, TokenType.REFRESH_TOKEN, "password", 0, 10)


def test_metric_labels_are_the_series_that_exist_from_the_start() -> None:
    # Compared with the declared names, not with REVOCATIONS' samples: other tests in the
    # same process add series of their own.
    assert set(DECLARED_REVOCATION_PATHS) == {p.value for p in MetricPath}
    assert set(DECLARED_REVOCATION_OUTCOMES) == {o.value for o in Outcome}
    series = {
        (s.labels["path"], s.labels["outcome"])
        for metric in REVOCATIONS.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    }
    assert series >= {(p.value, o.value) for p in MetricPath for o in Outcome}


def test_audit_records_hold_plain_strings_in_their_documented_shapes() -> None:
    plan = grant_of(record("t1", "g1"), Actor.ADMIN.of("a1"), Reason.CONFIG_API)
    assert (plan.target.column, plan.target.values) == (TargetKind.GRANT, ("g1",))
    audit = plan.audit
    assert (audit.action, audit.actor, audit.reason, audit.client_id) == (
        "revoke", "admin:a1", "config_api", "c1"
    )  # fmt: skip
    assert all(type(v) is str for v in (audit.action, audit.actor, audit.reason))
    assert audit.details == {"grants": ["g1"], "token_codes": ["t1"]}

    every = client_tokens(
        "c1", Actor.CLIENT.of("c1"), Reason.REVOKE_ENDPOINT, [TokenType.ACCESS_TOKEN],
        with_types=True,
    )  # fmt: skip
    assert (every.audit.action, every.audit.details) == (
        "revoke_all", {"token_types": ["access_token"]}
    )  # fmt: skip
    reset = client_tokens("c1", Actor.SECRET_RESET, Reason.SECRET_RESET).audit
    assert (reset.actor, reset.reason, reset.details) == ("admin reset-secret", "secret_reset", {})

    start = global_audit(Actor.CLIENT.of("c9"), Reason.GLOBAL_TOKEN_REVOCATION, "uid")
    user = of_user("U1", start, ["s1"])
    session = of_session("s1", start, "U1")
    assert (user.target.column, session.target.column) == (TargetKind.USER, TargetKind.SESSION)
    assert user.audit.details == {"format": "uid", "userId": "U1", "sessions": ["s1"]}
    assert session.audit.details == {"format": "uid", "sessionId": "s1", "userId": "U1"}
    assert start.details == {"format": "uid"}  # each revocation adds to a copy
