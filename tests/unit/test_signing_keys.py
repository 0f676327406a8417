"""The published signing keys: the members of Janssen's JsonWebKey, the same on every node."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tokenrevoke.oauth.keys import KeyRing
from tokenrevoke.runtime import Runtime
from tokenrevoke.settings import Settings


def test_published_keys_carry_exp_and_a_certificate_of_their_own(tmp_path: Path) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
        rt = await Runtime.open(Settings(data_dir=tmp_path))
        try:
            await rt.rotate_keys()  # the first key, as at the first start
            other_node = KeyRing(rt.store, rt.box)
            await other_node.load()
            expiry = {k.kid: k.expires_at for k in await rt.store.list_signing_keys()}
            return rt.keys.jwks(), other_node.jwks(), expiry
        finally:
            await rt.close()

    published, elsewhere, expiry = asyncio.run(scenario())
    assert published["keys"] and published == elsewhere  # byte for byte on every node
    for jwk in published["keys"]:
        assert jwk["exp"] == expiry[jwk["kid"]] * 1000
        (der,) = jwk["x5c"]
        certificate = x509.load_der_x509_certificate(base64.b64decode(der))
        key = certificate.public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        assert key.public_numbers() == RSAAlgorithm.from_jwk(jwk).public_numbers()
        assert int(certificate.not_valid_after_utc.timestamp()) == expiry[jwk["kid"]]
