"""The subject DN a tls_client_auth client registers (RFC 8705 section 2.1.2), parsed and
compared as Janssen does (Bouncy Castle's X500Name equality): attribute order, case and
runs of whitespace do not matter."""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.x509.oid import NameOID

# Attribute names a registered subject DN may use (case-insensitive), besides dotted OIDs.
# Janssen parses the DN with Bouncy Castle's BCStyle; these are the names in common use.
_DN_NAMES: dict[str, x509.ObjectIdentifier] = {
    "CN": NameOID.COMMON_NAME,
    "C": NameOID.COUNTRY_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "STREET": NameOID.STREET_ADDRESS,
    "DC": NameOID.DOMAIN_COMPONENT,
    "UID": NameOID.USER_ID,
    "E": NameOID.EMAIL_ADDRESS,
    "EMAIL": NameOID.EMAIL_ADDRESS,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "T": NameOID.TITLE,
    "TITLE": NameOID.TITLE,
    "GIVENNAME": NameOID.GIVEN_NAME,
    "SURNAME": NameOID.SURNAME,
    "POSTALCODE": NameOID.POSTAL_CODE,
    "DNQ": NameOID.DN_QUALIFIER,
    "DNQUALIFIER": NameOID.DN_QUALIFIER,
    "BUSINESSCATEGORY": NameOID.BUSINESS_CATEGORY,
    "ORGANIZATIONIDENTIFIER": x509.ObjectIdentifier("2.5.4.97"),
}
_DOTTED_OID = re.compile(r"(?:OID\.)?([0-2](?:\.[0-9]+)+)", re.IGNORECASE)
_HEX = frozenset("0123456789abcdefABCDEF")

DnKey = list[tuple[str, str]]


def _normalise_value(value: str) -> str:
    # As Bouncy Castle's canonical form: case-insensitive, whitespace runs collapsed.
    return " ".join(value.split()).casefold()


def _split_unescaped(text: str, separators: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = quoted = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch in separators and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _unescape_dn_value(raw: str) -> str:
    """RFC 4514 (and RFC 2253 quoted) value escapes: `\\,`, `\\+`, `\\XX` UTF-8 bytes."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            pair = text[i + 1 : i + 3]
            if len(pair) == 2 and pair[0] in _HEX and pair[1] in _HEX:
                out.append(int(pair, 16))
                i += 3
                continue
            out += text[i + 1].encode()
            i += 2
            continue
        out += ch.encode()
        i += 1
    return out.decode("utf-8", "replace")


def parse_subject_dn(dn: str) -> DnKey | None:
    """A registered subject DN as a sorted list of (OID, normalised value); None when it
    cannot be parsed. Order-insensitive, as Janssen's `CertUtils.equalsRdn` (Bouncy
    Castle's X500Name equality), so `CN=a, O=b, C=US` and `C=US,O=b,CN=a` are the same DN;
    escaped separators (`O=Example\\, Inc.`) are part of the value."""
    attributes: DnKey = []
    for rdn in _split_unescaped(dn, ",;"):
        if not rdn.strip():
            continue
        for ava in _split_unescaped(rdn, "+"):
            name, sep, value = ava.partition("=")
            if not sep:
                return None
            name = name.strip()
            oid = _DN_NAMES.get(name.upper())
            if oid is not None:
                dotted = oid.dotted_string
            elif match := _DOTTED_OID.fullmatch(name):
                dotted = match.group(1)
            else:
                return None
            attributes.append((dotted, _normalise_value(_unescape_dn_value(value))))
    return sorted(attributes) or None


def certificate_subject_key(cert: x509.Certificate) -> DnKey:
    out: DnKey = []
    for attribute in cert.subject:
        value = attribute.value
        text = value if isinstance(value, str) else value.hex()
        out.append((attribute.oid.dotted_string, _normalise_value(text)))
    return sorted(out)


__all__ = ["DnKey", "certificate_subject_key", "parse_subject_dn"]
