"""A revocation event as a Security Event Token (RFC 8417) with the RISC
`tokens-revoked` event type.

RISC defines `tokens-revoked` for "all tokens of the subject" and no further members;
ours also revoke a single grant or one batch of a client's tokens, so the event payload
says exactly which: the SHA-256 hashes of the revoked tokens (Janssen's `tknCde`, never
the tokens), their grants, clients and users, and why. Receivers ignore members they do
not know (RFC 8417 section 2.2), so RISC-only receivers still understand the event.
"""

from __future__ import annotations

import time
from typing import Any

from tokenrevoke.model import RevocationEvent
from tokenrevoke.oauth.keys import KeyRing

TOKENS_REVOKED = "https://schemas.openid.net/secevent/risc/event-type/tokens-revoked"
SET_TYPE = "secevent+jwt"  # the JWT `typ` header (RFC 8417 section 2.3)
MEDIA_TYPE = "application/secevent+jwt"


def subject(event: RevocationEvent, issuer: str) -> dict[str, Any]:
    """RISC's subject: the user (`iss-sub`) when every token belongs to that one user;
    otherwise the client (an `opaque` identifier, RFC 9493), as for a client's
    machine-to-machine tokens. A revoke-all of a client that holds one user's grant among
    its own tokens is the client's revocation, not that user's."""
    if len(event.user_ids) == 1 and not event.userless_tokens:
        return {"subject_type": "iss-sub", "iss": issuer, "sub": event.user_ids[0]}
    if len(event.client_ids) == 1:
        return {"subject_type": "opaque", "id": event.client_ids[0]}
    return {"subject_type": "opaque", "id": event.revocation_id}


def set_claims(
    event: RevocationEvent, issuer: str, audience: str | None, now: int | None = None
) -> dict[str, Any]:
    described = subject(event, issuer)
    payload = {
        "subject": described,
        "reason": event.reason,
        "token_hashes": list(event.token_hashes),
        "token_hash_alg": "sha-256",
        "grant_ids": list(event.grant_ids),
        "client_ids": list(event.client_ids),
        "user_ids": list(event.user_ids),
        "revocation": {
            "id": event.revocation_id,
            "batch": event.batch,
            "action": event.action,
            "actor": event.actor,
            "target": {"type": event.target, "values": list(event.target_values)},
        },
    }
    claims: dict[str, Any] = {
        "iss": issuer,
        "iat": int(time.time()) if now is None else now,
        # Stable across retries, so receivers deduplicate by it (RFC 8935 section 2).
        "jti": event.id,
        "toe": event.revoked_at,  # time of the event (RFC 8417 section 2.2)
        "txn": event.revocation_id,  # every batch of one revocation shares it
        "sub_id": {"format": described["subject_type"].replace("iss-sub", "iss_sub")}
        | {k: v for k, v in described.items() if k != "subject_type"},
        "events": {TOKENS_REVOKED: payload},
    }
    if audience:
        claims["aud"] = audience
    return claims


def security_event_token(
    keys: KeyRing, event: RevocationEvent, issuer: str, audience: str | None
) -> str:
    return keys.sign(set_claims(event, issuer, audience), typ=SET_TYPE)
