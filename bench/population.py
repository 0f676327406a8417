"""The token population both servers hold, and which of its tokens the loads use.

Grants are numbered 0..G-1 (live) then G..G+R-1 (revoked). Grant i holds one refresh token
and one (i even) or two (i odd) access tokens: 2 to 3 tokens, 2.5 on average. Both the
tokenrevoke seeder and the peer follow the same plan, so they hold the same population and
the loads draw on the same kinds of tokens.

Samples (the first access token of each grant in a range, kept raw for the loads):
  check          grant 0: the harness's own correctness checks
  revocation     75% of the live grants: each request revokes a different live grant
  introspection  12.5% of the live grants (live tokens; the load may cycle through them)
  mixed          the rest: revocations during the revoke-all measurement
  revoked        revoked grants, a quarter as many as `introspection`, so the
                 introspection load is 80% live and 20% revoked tokens
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

SAMPLE_CAP = 500_000
REVOKED_FRACTION = 0.1


def access_tokens_of(grant: int) -> int:
    return 1 if grant % 2 == 0 else 2


def tokens_in_grants(grants: int) -> int:
    """Tokens (access + refresh) held by grants 0..grants-1."""
    evens = (grants + 1) // 2
    odds = grants // 2
    return 2 * evens + 3 * odds


def grants_for(tokens: int) -> int:
    """The fewest grants holding at least `tokens` tokens."""
    grants = max(1, int(tokens / 2.5))
    while tokens_in_grants(grants) < tokens:
        grants += 1
    while grants > 1 and tokens_in_grants(grants - 1) >= tokens:
        grants -= 1
    return grants


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    def file(self, directory: Path) -> Path:
        return directory / f"{self.name}.txt"


@dataclass(frozen=True, slots=True)
class Plan:
    live_grants: int
    revoked_grants: int
    samples: tuple[Sample, ...]

    @property
    def live_tokens(self) -> int:
        return tokens_in_grants(self.live_grants)

    @property
    def revoked_tokens(self) -> int:
        return tokens_in_grants(self.live_grants + self.revoked_grants) - self.live_tokens

    @property
    def total_grants(self) -> int:
        return self.live_grants + self.revoked_grants

    def sample(self, name: str) -> Sample:
        return next(s for s in self.samples if s.name == name)

    def to_json(self) -> dict[str, object]:
        return {
            "live_grants": self.live_grants,
            "live_tokens": self.live_tokens,
            "revoked_grants": self.revoked_grants,
            "revoked_tokens": self.revoked_tokens,
            "samples": {s.name: s.size for s in self.samples},
        }


def make_plan(tokens: int) -> Plan:
    if tokens < 50:
        raise ValueError("--tokens must be at least 50")
    live = grants_for(tokens)
    rest = live - 1
    n_revoke = min(SAMPLE_CAP, max(1, int(rest * 0.75)))
    n_intro = min(SAMPLE_CAP, max(1, int(rest * 0.125)))
    n_mixed = min(SAMPLE_CAP, max(1, rest - n_revoke - n_intro))
    revoked = max(1, int(live * REVOKED_FRACTION))
    n_dead = max(1, min(revoked, n_intro // 4))
    a = 1 + n_revoke
    b = a + n_intro
    samples = (
        Sample("check", 0, 1),
        Sample("revocation", 1, a),
        Sample("introspection", a, b),
        Sample("mixed", b, b + n_mixed),
        Sample("revoked", live, live + n_dead),
    )
    return Plan(live, revoked, samples)


def sample_of(plan: Plan) -> list[Sample | None]:
    """For each grant index, the sample it belongs to (None for most)."""
    owner: list[Sample | None] = [None] * plan.total_grants
    for sample in plan.samples:
        for i in range(sample.start, sample.stop):
            owner[i] = sample
    return owner


def write_introspection_mix(directory: Path) -> Path:
    """Live and revoked tokens shuffled together (80/20) into one load file."""
    live = _lines(directory / "introspection.txt")
    dead = _lines(directory / "revoked.txt")
    mix = live + dead
    random.Random(20240607).shuffle(mix)  # noqa: S311 - an order, not a secret
    path = directory / "introspection-mix.txt"
    path.write_text("\n".join(mix) + "\n")
    return path


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line]


def first_lines(path: Path, count: int) -> list[str]:
    out: list[str] = []
    with path.open() as handle:
        for line in handle:
            if line.strip():
                out.append(line.strip())
            if len(out) >= count:
                break
    return out
