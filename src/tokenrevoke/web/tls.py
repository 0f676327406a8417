"""TLS for mutual-TLS client authentication (RFC 8705) on uvicorn.

uvicorn does not yet expose the client certificate to applications, so a small protocol
subclass adds the ASGI TLS extension (`scope["extensions"]["tls"]["client_cert_chain"]`,
PEM, leaf first) to each request. The server's SSL context asks for a client certificate
without requiring one; it trusts the configured client CA and the self-signed certificates
that clients registered for self_signed_tls_client_auth (Python's ssl module cannot accept
an unknown self-signed certificate otherwise).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_contexts: list[ssl.SSLContext] = []  # the contexts of this process, for trust updates
_trusted: set[bytes] = set()


def ssl_context_factory(
    client_ca: str | None,
) -> Callable[[Any, Callable[[], ssl.SSLContext]], ssl.SSLContext]:
    def factory(config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        context = default()
        context.verify_mode = ssl.CERT_OPTIONAL
        if client_ca:
            context.load_verify_locations(cafile=client_ca)
        for der in _trusted:
            context.load_verify_locations(cadata=der)
        _contexts.append(context)
        return context

    return factory


def trust_self_signed(certificates: Iterable[bytes]) -> None:
    """Let these (DER) self-signed client certificates complete a TLS handshake. The
    application still checks that the certificate belongs to the authenticating client."""
    for der in certificates:
        if der in _trusted:
            continue
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            continue
        if cert.issuer != cert.subject:
            continue  # only self-signed certificates may become trust anchors
        _trusted.add(der)
        for context in _contexts:
            context.load_verify_locations(cadata=der)


class TlsAwareHttpToolsProtocol(HttpToolsProtocol):
    _tls_extension: dict[str, Any] | None = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            self._tls_extension = None
            return
        der = ssl_object.getpeercert(binary_form=True)
        chain = [x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()] if der else []
        self._tls_extension = {
            "server_cert": None,
            "client_cert_chain": chain,
            "client_cert_name": None,
            "client_cert_error": None,
            "tls_version": None,
            "cipher_suite": None,
        }

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._tls_extension is not None:
            self.scope["extensions"] = {"tls": self._tls_extension}  # type: ignore[typeddict-unknown-key]
