"""Mutual-TLS client authentication (RFC 8705 section 2): tls_client_auth (a certificate
from the configured CA with the registered subject DN) and self_signed_tls_client_auth
(one of the certificates in the client's registered JWKS)."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from tokenrevoke.model import AuthMethod, Client
from tokenrevoke.oauth.client_auth.dn import certificate_subject_key, parse_subject_dn
from tokenrevoke.oauth.client_auth.outcome import AUTH_FAILED, AuthenticatedClient
from tokenrevoke.oauth.errors import invalid_client

log = logging.getLogger("tokenrevoke.auth")


def cert_thumbprint(der: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def jwks_certificates(jwks: dict[str, Any] | None) -> list[bytes]:
    out = []
    for key in (jwks or {}).get("keys", []):
        for b64 in key.get("x5c", [])[:1]:
            try:
                out.append(base64.b64decode(b64))
            except (ValueError, TypeError):  # binascii.Error, or non-ASCII text
                continue
    return out


def _client_cert_policy() -> PolicyBuilder:
    """The chain policy for tls_client_auth certificates.

    cryptography's client verifier applies the CA/Browser Forum Web PKI profile, which
    requires a subjectAltName (and an authorityKeyIdentifier) on the leaf. Client
    certificates from private and enterprise CAs often have neither: RFC 8705
    tls_client_auth identifies the client by its subject DN. Both are allowed to be
    absent here; everything else stays as the profile has it (signature chain to the
    configured CA, validity period, CA basic constraints and key usage, and an
    extendedKeyUsage, when present, that allows clientAuth).
    """
    ee_policy = (
        ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
        .may_be_present(x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None)
    )
    return PolicyBuilder().extension_policies(
        ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee_policy
    )


class MutualTls:
    """Checks the certificate a tls_client_auth or self_signed_tls_client_auth client
    presented (from our TLS handshake or a trusted proxy's header)."""

    def __init__(self, tls_client_ca: Sequence[x509.Certificate] = ()) -> None:
        self._ca_store = Store(list(tls_client_ca)) if tls_client_ca else None

    def authenticate(self, client: Client, cert_der: bytes | None) -> AuthenticatedClient:
        if cert_der is None:
            raise invalid_client(AUTH_FAILED, "no client certificate presented")
        try:
            cert = x509.load_der_x509_certificate(cert_der)
        except ValueError:
            raise invalid_client(AUTH_FAILED, "unreadable client certificate") from None
        thumbprint = cert_thumbprint(cert_der)
        if client.auth_method is AuthMethod.TLS_CLIENT_AUTH:
            self._verify_pki(client, cert)
        else:
            registered = {cert_thumbprint(d) for d in jwks_certificates(client.jwks)}
            if thumbprint not in registered:
                raise invalid_client(AUTH_FAILED, "certificate is not one the client registered")
        return AuthenticatedClient(client, client.auth_method.value, cert_thumbprint=thumbprint)

    def _verify_pki(self, client: Client, cert: x509.Certificate) -> None:
        # The TLS layer may also trust clients' self-signed certificates; tls_client_auth
        # must chain to the configured CA only, so the chain is checked again here. (A
        # certificate from a trusted TLS proxy's header has not been checked at all yet.)
        if self._ca_store is None:
            raise invalid_client(AUTH_FAILED, "no client CA is configured")
        expected = parse_subject_dn(client.tls_subject_dn or "")
        if expected is None:
            log.warning("client %s has no usable tls_client_auth subject DN", client.client_id)
            raise invalid_client(AUTH_FAILED, "no usable subject DN registered")
        if certificate_subject_key(cert) != expected:
            raise invalid_client(AUTH_FAILED, "certificate subject DN mismatch")
        try:
            verifier = _client_cert_policy().store(self._ca_store).build_client_verifier()
            verifier.verify(cert, [])
        except VerificationError as exc:
            raise invalid_client(AUTH_FAILED, f"certificate: {exc}") from None


__all__ = ["MutualTls", "cert_thumbprint", "jwks_certificates"]
