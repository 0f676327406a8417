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
from typing import Any, cast

from cryptography import x509
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_contexts: list[ssl.SSLContext] = []  # the contexts of this process, for trust updates
_trusted: set[bytes] = set()


class ClientCertContextFactory:
    """uvicorn's `ssl_context_factory`: ask for (but do not require) a client certificate,
    trusting the client CA and registered self-signed certificates. A module-level class,
    not a closure, so that it pickles into `--workers` processes (uvicorn spawns them)."""

    def __init__(self, client_ca: str | None) -> None:
        self.client_ca = client_ca

    def __call__(self, config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        context = default()
        context.verify_mode = ssl.CERT_OPTIONAL
        if self.client_ca:
            context.load_verify_locations(cafile=self.client_ca)
        for der in _trusted:
            context.load_verify_locations(cadata=der)
        _contexts.append(context)
        return context


def ssl_context_factory(client_ca: str | None) -> ClientCertContextFactory:
    return ClientCertContextFactory(client_ca)


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

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            self._tls_extension = None
            return
        der = ssl_object.getpeercert(binary_form=True)
        # Re-encoded without parsing: the application decides what to make of it.
        chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
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
            scope = cast(dict[str, Any], self.scope)  # a plain dict at run time
            scope["extensions"] = {"tls": self._tls_extension}
