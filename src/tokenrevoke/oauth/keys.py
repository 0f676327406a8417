"""The server's signing keys: creation, rotation, JWKS, signing and verifying our own JWTs.

Private keys are stored encrypted (AES-GCM under the master key). A new key becomes the
signing key after `keyRegenerationInterval` hours; retired keys stay published until every
token they signed has expired, so verifiers never meet an unknown `kid`.
"""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from tokenrevoke.crypto import SecretBox, new_id
from tokenrevoke.store.base import SigningKey, Store

ALGORITHM = "RS256"
# A retired key stays published this much longer than the tokens it may have signed: other
# nodes switch to its successor only at their next refresh, and verifiers' clocks drift.
RETIREMENT_GRACE_SECONDS = 60


class KeyRing:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self._store = store
        self._box = box
        self._keys: list[SigningKey] = []
        self._private: dict[str, rsa.RSAPrivateKey] = {}
        self._public: dict[str, Any] = {}
        self._jwks: dict[str, Any] = {"keys": []}
        self._certificates: dict[tuple[str, int], str] = {}

    async def load(self) -> None:
        keys = await self._store.list_signing_keys()
        private = {}
        public = {}
        for key in keys:
            pem = self._box.decrypt(key.private_pem_encrypted, f"signing-key:{key.kid}")
            loaded = serialization.load_pem_private_key(pem.encode(), password=None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            private[key.kid] = loaded
            public[key.kid] = loaded.public_key()
        # Oldest first, the newest signs. Ties broken by kid so every node agrees.
        keys = sorted(keys, key=lambda k: (k.created_at, k.kid))
        self._keys, self._private, self._public = keys, private, public
        # As Janssen publishes them (its document's JsonWebKey requires both): `exp` (ms),
        # when the key stops being published, and `x5c`, a self-signed certificate.
        certificates = {
            (k.kid, k.expires_at): self._certificates.get((k.kid, k.expires_at))
            or _certificate(k, private[k.kid])
            for k in keys
        }
        self._certificates = certificates
        self._jwks = {
            "keys": [
                {
                    **_publishable(k.public_jwk),
                    "exp": k.expires_at * 1000,
                    "x5c": [certificates[(k.kid, k.expires_at)]],
                }
                for k in keys
            ]
        }

    async def rotate_if_due(self, interval_hours: int, max_token_lifetime: int) -> bool:
        """Create a key when none is current; drop keys whose tokens have all expired."""
        now = int(time.time())
        changed = False
        current = self.current
        if current is None or now - current.created_at >= interval_hours * 3600:
            await self._store.save_signing_key(
                self._generate(now, interval_hours, max_token_lifetime)
            )
            changed = True
        # A key signs until its successor is created, and tokens it signed live for up to
        # max_token_lifetime after that. Its planned expiry alone is not enough: the key may
        # have been current far longer than planned (interval raised, rotation switched off
        # and on again, nodes down), and must not vanish while its tokens are still valid.
        for key, successor in zip(self._keys, self._keys[1:], strict=False):
            retired_at = successor.created_at
            publish_until = max(key.expires_at, retired_at + max_token_lifetime)
            if publish_until + RETIREMENT_GRACE_SECONDS <= now:
                await self._store.delete_signing_key(key.kid)
                changed = True
        if changed:
            await self.load()
        return changed

    def _generate(self, now: int, interval_hours: int, max_token_lifetime: int) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = new_id()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
        return SigningKey(
            kid=kid,
            alg=ALGORITHM,
            private_pem_encrypted=self._box.encrypt(pem, f"signing-key:{kid}"),
            public_jwk=jwk,
            created_at=now,
            # Published until the last token it could sign has expired.
            expires_at=now + interval_hours * 3600 + max_token_lifetime,
        )

    @property
    def current(self) -> SigningKey | None:
        return self._keys[-1] if self._keys else None

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def described(self) -> list[dict[str, Any]]:
        """The published keys as Janssen's config API lists them (JSONWebKey): the public
        JWK plus a name, a description and `exp`, when it stops being published (ms)."""
        return [
            {
                **_publishable(key.public_jwk),
                "name": f"{key.alg} signing key",
                "descr": "Signature Key: RSA RSASSA-PKCS1-v1_5 using SHA-256",
                "exp": key.expires_at * 1000,
            }
            for key in self._keys
        ]

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        key = self.current
        if key is None:
            raise RuntimeError("no signing key loaded")
        return jwt.encode(
            claims, self._private[key.kid], algorithm=key.alg, headers={"kid": key.kid, "typ": typ}
        )

    def verify(
        self, token: str, audience: str | None = None, *, allow_expired: bool = False
    ) -> dict[str, Any] | None:
        """Claims of a JWT we signed, or None when it is not ours or not valid. With
        `allow_expired`, a token past its `exp` still verifies (an id_token_hint may be
        expired: OpenID RP-Initiated Logout 1.0 section 2)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            public = self._public.get(kid) if isinstance(kid, str) else None
            if public is None:
                return None
            claims: dict[str, Any] = jwt.decode(
                token, public, algorithms=[ALGORITHM], audience=audience,
                options={"verify_aud": audience is not None, "verify_exp": not allow_expired},
            )  # fmt: skip
            return claims
        except jwt.PyJWTError:
            return None


def _publishable(jwk: dict[str, Any]) -> dict[str, Any]:
    """The public JWK as published. PyJWT adds `key_ops` next to `use`, which RFC 7517
    section 4.3 says should not be combined (Janssen publishes `use` only)."""
    return {k: v for k, v in jwk.items() if k != "key_ops"}


def _certificate(key: SigningKey, private: rsa.RSAPrivateKey) -> str:
    """A self-signed X.509 certificate of the key for `x5c` (RFC 7517 section 4.7), base64
    DER, valid while the key is published. Built only from the key's stored fields and
    signed with PKCS#1 v1.5 (deterministic): every node publishes the same bytes."""
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"tokenrevoke signing key {key.kid}")]
    )
    serial = int.from_bytes(hashlib.sha256(key.kid.encode()).digest()[:16]) >> 1
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(serial or 1)
        .not_valid_before(datetime.fromtimestamp(key.created_at, UTC))
        .not_valid_after(datetime.fromtimestamp(max(key.expires_at, key.created_at), UTC))
        .sign(private, hashes.SHA256())
    )
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
