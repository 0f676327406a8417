"""Failed client authentication throttling: windows, lockouts, bounds (oauth/throttle.py)."""

from __future__ import annotations

import logging

import pytest

from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.oauth.throttle import AuthThrottle, ThrottleLimits, address_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def throttle(clock: Clock, per_client: int = 3, per_address: int = 0, window: int = 10,
             max_keys: int = 1000) -> tuple[AuthThrottle, list[ThrottleLimits]]:  # fmt: skip
    limits = [ThrottleLimits(per_client, per_address, window)]
    return AuthThrottle(lambda: limits[0], max_keys=max_keys, clock=clock), limits


def refused(check: object, *args: object) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        check(*args)  # type: ignore[operator]
    return caught.value


def test_client_locked_out_after_limit_then_recovers(clock: Clock) -> None:
    t, _ = throttle(clock)
    for _ in range(2):
        t.failed("c1", True, None)
        t.check_client("c1")  # below the limit: still allowed
    t.failed("c1", True, None)
    error = refused(t.check_client, "c1")
    assert error.status == 429 and error.error == "temporarily_unavailable"
    assert error.headers == {"Retry-After": "10"}
    clock.now += 6.5
    assert refused(t.check_client, "c1").headers == {"Retry-After": "4"}  # rounded up
    t.check_client("c2")  # another client is not affected
    clock.now += 3.5
    t.check_client("c1")  # the window has passed


def test_failures_outside_the_window_do_not_add_up(clock: Clock) -> None:
    t, _ = throttle(clock)
    for _ in range(5):
        t.failed("c1", True, None)
        t.failed("c1", True, None)
        clock.now += 10  # a new window each time: never 3 in one window
    t.check_client("c1")


def test_address_throttle_and_ipv6_per_64(clock: Clock) -> None:
    t, _ = throttle(clock, per_client=0, per_address=2)
    t.failed("a", False, "2001:db8:1:2::1")
    t.failed("b", False, "2001:db8:1:2:ffff::9")  # same /64
    assert refused(t.check_address, "2001:db8:1:2::77").status == 429
    t.check_address("2001:db8:1:3::1")  # the next /64
    t.check_address("192.0.2.1")
    t.check_client("a")  # per-client throttling is off
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("192.0.2.7") == "192.0.2.7"


def test_zero_turns_throttling_off_even_during_a_lockout(clock: Clock) -> None:
    t, limits = throttle(clock, per_client=1)
    t.failed("c1", True, None)
    refused(t.check_client, "c1")
    limits[0] = ThrottleLimits(0, 0, 10)  # the operator turns it off: live
    t.check_client("c1")
    t.failed("c1", True, "192.0.2.1")
    t.check_client("c1")
    t.check_address("192.0.2.1")


def test_rotating_client_ids_cannot_grow_memory(clock: Clock) -> None:
    t, _ = throttle(clock, per_client=2, per_address=0, max_keys=100)
    for i in range(10_000):
        t.failed(f"random-{i}", False, None)
        if i % 2:
            t.failed(f"random-{i}", False, None)  # every other id gets locked out
    guard = t._clients
    tables = (guard.pairs.windows, guard.pairs.blocked, guard.ceiling.windows,
              guard.ceiling.blocked, guard.good)  # fmt: skip
    assert all(len(table) <= 100 for table in tables)
    refused(t.check_client, "random-9999")  # the newest lockouts are kept


def limited(clock: Clock, **limits: int) -> AuthThrottle:
    values = ThrottleLimits(**{"per_client": 0, "per_address": 0, "window": 10, **limits})
    return AuthThrottle(lambda: values, max_keys=1000, clock=clock)


def test_a_stranger_locks_out_only_his_own_address(clock: Clock) -> None:
    t = limited(clock, per_client=3, ceiling_per_client=100)
    for _ in range(3):
        t.failed("admin", True, "203.0.113.9")
    assert refused(t.check_client, "admin", "203.0.113.9").status == 429
    t.check_client("admin", "192.0.2.1")  # the legitimate caller elsewhere: not affected


def test_the_ceiling_spares_addresses_that_authenticated(clock: Clock) -> None:
    t = limited(clock, per_client=3, ceiling_per_client=10)
    t.succeeded("svc", "192.0.2.1")  # the service, known to hold the secret
    for i in range(10):  # a guesser spread over ten addresses, one try each
        t.failed("svc", True, f"198.51.100.{i}")
    assert refused(t.check_client, "svc", "198.51.100.200").status == 429  # new address
    t.check_client("svc", "192.0.2.1")
    clock.now += 10
    t.check_client("svc", "198.51.100.200")  # the window has passed


def test_passwords_per_user_and_address_and_per_address(clock: Clock) -> None:
    t = limited(clock, per_user=3, ceiling_per_user=10, per_address=5)
    for _ in range(3):
        t.password_failed("alice", "203.0.113.9")
    error = refused(t.check_user, "alice", "203.0.113.9")
    assert error.status == 429 and "password" in error.description
    t.check_user("alice", "192.0.2.1")  # alice herself, from her address
    t.check_user("bob", "203.0.113.9")
    for _ in range(2):  # passwords count toward the address too
        t.password_failed("bob", "203.0.113.9")
    assert refused(t.check_address, "203.0.113.9").status == 429


def test_lockout_log_names_only_registered_clients(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    t, _ = throttle(clock, per_client=1)
    pasted_secret = "s3cr3t-pasted-into-the-client-id-field"
    with caplog.at_level(logging.WARNING, logger="tokenrevoke.auth.throttle"):
        t.failed("real-client", True, None)
        t.failed(pasted_secret, False, None)
    assert "'real-client' locked out" in caplog.text
    assert pasted_secret not in caplog.text
    assert "sha256:" in caplog.text
