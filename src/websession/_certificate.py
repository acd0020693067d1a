"""Electron's ``Certificate`` and ``CertificatePrincipal`` structures, built with ``cryptography``.

Electron: ``shell/common/gin_converters/net_converter.cc`` (``Converter<X509Certificate>``);
Chromium: ``net/cert/x509_cert_types.cc`` (``CertPrincipal``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from ._structures import Structure, field, structure


@structure
class CertificatePrincipal(Structure):
    """The subject or issuer of a certificate (``CertificatePrincipal``)."""

    common_name: str = field(default="")
    organizations: tuple[str, ...] = field(default=())
    organization_units: tuple[str, ...] = field(default=())
    locality: str = field(default="")
    state: str = field(default="")
    country: str = field(default="")


@structure
class Certificate(Structure):
    """A server certificate as Electron describes it; ``issuer_cert`` follows the sent chain."""

    data: str = field(default="")
    issuer: CertificatePrincipal = field(default=None)
    issuer_name: str = field(default="")
    issuer_cert: Certificate | None = field(default=None)
    subject: CertificatePrincipal = field(default=None)
    subject_name: str = field(default="")
    serial_number: str = field(default="")
    valid_start: int = field(default=0)
    valid_expiry: int = field(default=0)
    fingerprint: str = field(default="")

    @property
    def der(self) -> bytes:
        """The DER bytes of this certificate."""
        return x509.load_pem_x509_certificate(self.data.encode()).public_bytes(Encoding.DER)


def _values(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    out: list[str] = []
    for attribute in name.get_attributes_for_oid(oid):
        value = attribute.value
        out.append(value if isinstance(value, str) else bytes(value).decode("latin-1"))
    return out


def principal(name: x509.Name) -> CertificatePrincipal:
    """Return the ``CertificatePrincipal`` of an X.509 name."""

    # CertPrincipal::ParseDistinguishedName: a repeated single-valued attribute keeps the last.
    def last(oid: x509.ObjectIdentifier) -> str:
        values = _values(name, oid)
        return values[-1] if values else ""

    return CertificatePrincipal(
        common_name=last(NameOID.COMMON_NAME),
        organizations=tuple(_values(name, NameOID.ORGANIZATION_NAME)),
        organization_units=tuple(_values(name, NameOID.ORGANIZATIONAL_UNIT_NAME)),
        locality=last(NameOID.LOCALITY_NAME),
        state=last(NameOID.STATE_OR_PROVINCE_NAME),
        country=last(NameOID.COUNTRY_NAME),
    )


def display_name(p: CertificatePrincipal) -> str:
    """``CertPrincipal::GetDisplayName``: the common name, else the first O, else the first OU."""
    if p.common_name:
        return p.common_name
    if p.organizations:
        return p.organizations[0]
    if p.organization_units:
        return p.organization_units[0]
    return ""


def fingerprint(der: bytes) -> str:
    """Chromium's ``HashValue::ToString`` of the certificate's SHA-256: ``sha256/<base64>``."""
    return "sha256/" + base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def _serial_hex(serial: int) -> str:
    # X509Certificate::serial_number() is the DER INTEGER's content octets (a leading 00
    # when the high bit is set); Electron hex-encodes them in upper case.
    length = max(1, (serial.bit_length() + 8) // 8) if serial >= 0 else (serial.bit_length() + 8) // 8
    return serial.to_bytes(length, "big", signed=True).hex().upper()


def certificate_from_chain(chain: Sequence[bytes]) -> Certificate:
    """Build a ``Certificate`` from DER certificates, leaf first; the rest become ``issuer_cert``."""
    if not chain:
        raise ValueError("certificate_from_chain: the chain is empty")
    issuer_cert = certificate_from_chain(chain[1:]) if len(chain) > 1 else None
    der = chain[0]
    cert = x509.load_der_x509_certificate(der)
    subject = principal(cert.subject)
    issuer = principal(cert.issuer)
    return Certificate(
        data=cert.public_bytes(Encoding.PEM).decode("ascii"),
        issuer=issuer,
        issuer_name=display_name(issuer),
        issuer_cert=issuer_cert,
        subject=subject,
        subject_name=display_name(subject),
        serial_number=_serial_hex(cert.serial_number),
        valid_start=int(cert.not_valid_before_utc.timestamp()),
        valid_expiry=int(cert.not_valid_after_utc.timestamp()),
        fingerprint=fingerprint(der),
    )


def chain_from_pem(pem: str | bytes) -> list[bytes]:
    """Return the DER certificates of a PEM bundle, in order."""
    data = pem.encode() if isinstance(pem, str) else pem
    return [c.public_bytes(Encoding.DER) for c in x509.load_pem_x509_certificates(data)]



__all__ = [
    "Certificate",
    "CertificatePrincipal",
    "certificate_from_chain",
    "chain_from_pem",
    "display_name",
    "fingerprint",
    "principal",
]
