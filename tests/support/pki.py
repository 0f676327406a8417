"""A small, realistic test PKI for mutual TLS (RFC 8705), built with `cryptography`.

What a real (private) CA issues: a root with critical basicConstraints CA:TRUE and
keyUsage keyCertSign/cRLSign; end-entity certificates with critical basicConstraints
CA:FALSE, critical keyUsage digitalSignature, an extendedKeyUsage (serverAuth for the
server, clientAuth for clients), subject/authority key identifiers, and, for the server,
a subjectAltName with the IP address it is reached on. Client certificates identify the
client by their subject DN and, like many enterprise client certificates, carry no
subjectAltName unless asked for one.

Self-signed client certificates (self_signed_tls_client_auth) are what a client would
make for itself: CA:FALSE, digitalSignature, clientAuth.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _name(common_name: str, org: str = "Example Corp", unit: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
    ]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def new_key(kind: str = "ec") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: PrivateKey,
    days: int,
    not_before: datetime.datetime | None = None,
) -> x509.CertificateBuilder:
    """A certificate of `key` for `subject`, issued by `issuer`, with a random serial, valid
    `days` from `not_before` (default: five minutes ago); the caller adds the extensions."""
    start = not_before or datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
    )


def _key_usage(*, digital_signature: bool = False, key_encipherment: bool = False,
               cert_sign: bool = False) -> x509.KeyUsage:  # fmt: skip
    return x509.KeyUsage(
        digital_signature=digital_signature, content_commitment=False,
        key_encipherment=key_encipherment, data_encipherment=False, key_agreement=False,
        key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )  # fmt: skip


@dataclass
class Issued:
    """A certificate and its key, written to PEM files on demand."""

    cert: x509.Certificate
    key: PrivateKey
    directory: Path
    stem: str
    _paths: tuple[Path, Path] | None = field(default=None, repr=False)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def subject_dn(self) -> str:
        return self.cert.subject.rfc4514_string()

    @property
    def thumbprint(self) -> str:
        """RFC 8705 `x5t#S256`: base64url (no padding) of the SHA-256 of the DER."""
        digest = hashlib.sha256(self.der).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def files(self) -> tuple[Path, Path]:
        """(certificate PEM path, private key PEM path)."""
        if self._paths is None:
            cert_path = self.directory / f"{self.stem}.crt"
            key_path = self.directory / f"{self.stem}.key"
            cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
            key_path.write_bytes(
                self.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            key_path.chmod(0o600)
            self._paths = (cert_path, key_path)
        return self._paths

    @property
    def cert_path(self) -> Path:
        return self.files()[0]

    @property
    def key_path(self) -> Path:
        return self.files()[1]

    def jwk(self, kid: str | None = None) -> dict[str, Any]:
        """The public key as a JWK carrying this certificate in `x5c` (for JWKS)."""
        from jwt.algorithms import ECAlgorithm, RSAAlgorithm

        public = self.key.public_key()
        jwk: dict[str, Any]
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        jwk["x5c"] = [base64.b64encode(self.der).decode()]
        jwk["x5t#S256"] = self.thumbprint
        jwk["kid"] = kid or self.thumbprint[:16]
        jwk["use"] = "sig"
        return jwk


class CertificateAuthority:
    """A root CA that issues server and client certificates."""

    def __init__(self, directory: Path, name: str = "Example Test Root CA",
                 org: str = "Example Corp") -> None:  # fmt: skip
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        key = new_key("ec")
        subject = _name(name, org)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            _builder(subject, subject, key, 3650)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True, cert_sign=True), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        slug = "".join(c if c.isalnum() else "-" for c in name.lower())
        self.issued = Issued(cert, key, directory, slug)

    @property
    def cert(self) -> x509.Certificate:
        return self.issued.cert

    @property
    def cert_path(self) -> Path:
        return self.issued.cert_path

    def _issue(
        self,
        stem: str,
        subject: x509.Name,
        *,
        eku: list[x509.ObjectIdentifier],
        san: list[x509.GeneralName] | None,
        key_kind: str = "ec",
        days: int = 365,
        not_before: datetime.datetime | None = None,
    ) -> Issued:
        key = new_key(key_kind)
        builder = (
            _builder(subject, self.cert.subject, key, days, not_before)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                _key_usage(digital_signature=True, key_encipherment=key_kind == "rsa"),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issued.key.public_key()),
                critical=False,
            )
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(self.issued.key, hashes.SHA256())
        return Issued(cert, key, self.directory, stem)

    def server(self, stem: str = "server", ip: str = "127.0.0.1") -> Issued:
        return self._issue(
            stem,
            _name(ip, unit="Servers"),
            eku=[ExtendedKeyUsageOID.SERVER_AUTH],
            san=[x509.IPAddress(ipaddress.ip_address(ip)), x509.DNSName("localhost")],
        )

    def client(
        self,
        stem: str,
        common_name: str,
        *,
        org: str = "Example Corp",
        unit: str | None = "OAuth Clients",
        san: list[x509.GeneralName] | None = None,
        key_kind: str = "ec",
        days: int = 365,
        not_before: datetime.datetime | None = None,
    ) -> Issued:
        return self._issue(
            stem,
            _name(common_name, org, unit),
            eku=[ExtendedKeyUsageOID.CLIENT_AUTH],
            san=san,
            key_kind=key_kind,
            days=days,
            not_before=not_before,
        )


def self_signed_client(directory: Path, stem: str, common_name: str,
                       key_kind: str = "ec") -> Issued:  # fmt: skip
    """A client's own self-signed certificate (self_signed_tls_client_auth)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = new_key(key_kind)
    subject = _name(common_name, org="Self Signed Client")
    cert = (
        _builder(subject, subject, key, 365)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key, directory, stem)


def client_context(ca: Path, cert: Issued | None = None) -> ssl.SSLContext:
    """What httpx builds from `verify=<CA path>` and `cert=(cert, key)` (passing those
    directly is deprecated in httpx 0.28): trust `ca` for the server, present `cert`."""
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        cert_path, key_path = cert.files()
        context.load_cert_chain(str(cert_path), str(key_path))
    return context
