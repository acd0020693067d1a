"""TLS policy for a session: ``set_ssl_config`` and ``set_certificate_verify_proc``.

The session's connector (:class:`SessionConnector`) builds every new TLS connection from the
session's :class:`TLSPolicy`: the versions and cipher suites of ``set_ssl_config``, the trust
of ``Transport.ssl_context``, and, when a verify proc is set, Electron's
``CertVerifierClient`` round trip (``shell/browser/net/cert_verifier_client.cc``): OpenSSL's
own verdict first, then the proc, whose answer is cached per host and certificate chain until
the proc changes, as Chromium's ``CertVerifier`` cache does.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import ssl
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from ._certificate import Certificate, certificate_from_chain
from ._errors import NetError
from ._handlers import ask, check_handler
from ._naming import CamelAliases
from ._options import Opt, options
from ._structures import Structure, field, structure

log = logging.getLogger("websession.tls")

# SSLProtocolVersionFromString (shell/common/gin_converters/net_converter.cc): only these two.
_VERSIONS = {"tls1.2": ssl.TLSVersion.TLSv1_2, "tls1.3": ssl.TLSVersion.TLSv1_3}
_SSL_CONFIG = {
    "min_version": Opt(object),
    "max_version": Opt(object),
    "disabled_cipher_suites": Opt(object),
}
# Chromium's TLS 1.2 cipher suites (BoringSSL "ALL:!aPSK:!ECDSA+SHA1:!3DES"), in its order.
CHROMIUM_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:"
    "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA:AES256-SHA"
)
_VERDICT_CACHE_SIZE = 256
USE_DEFAULT = -3  # the proc's "use Chromium's verdict"

# X509_V_ERR_* (OpenSSL's x509_vfy.h) -> Chromium's net error, as CertVerifyProc maps cert status.
_VERIFY_CODES = {
    2: "ERR_CERT_AUTHORITY_INVALID",   # UNABLE_TO_GET_ISSUER_CERT
    3: "ERR_CERT_UNABLE_TO_CHECK_REVOCATION",  # UNABLE_TO_GET_CRL
    9: "ERR_CERT_DATE_INVALID",        # CERT_NOT_YET_VALID
    10: "ERR_CERT_DATE_INVALID",       # CERT_HAS_EXPIRED
    13: "ERR_CERT_DATE_INVALID",       # ERROR_IN_CERT_NOT_BEFORE_FIELD
    14: "ERR_CERT_DATE_INVALID",       # ERROR_IN_CERT_NOT_AFTER_FIELD
    18: "ERR_CERT_AUTHORITY_INVALID",  # DEPTH_ZERO_SELF_SIGNED_CERT
    19: "ERR_CERT_AUTHORITY_INVALID",  # SELF_SIGNED_CERT_IN_CHAIN
    20: "ERR_CERT_AUTHORITY_INVALID",  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "ERR_CERT_AUTHORITY_INVALID",  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    23: "ERR_CERT_REVOKED",            # CERT_REVOKED
    24: "ERR_CERT_AUTHORITY_INVALID",  # INVALID_CA
    27: "ERR_CERT_AUTHORITY_INVALID",  # CERT_UNTRUSTED
    28: "ERR_CERT_AUTHORITY_INVALID",  # CERT_REJECTED
    47: "ERR_CERT_NAME_CONSTRAINT_VIOLATION",  # PERMITTED_VIOLATION
    48: "ERR_CERT_NAME_CONSTRAINT_VIOLATION",  # EXCLUDED_VIOLATION
    62: "ERR_CERT_COMMON_NAME_INVALID",  # HOSTNAME_MISMATCH
    63: "ERR_CERT_COMMON_NAME_INVALID",  # EMAIL_MISMATCH
    64: "ERR_CERT_COMMON_NAME_INVALID",  # IP_ADDRESS_MISMATCH
    66: "ERR_CERT_WEAK_KEY",             # EE_KEY_TOO_SMALL
    67: "ERR_CERT_WEAK_KEY",             # CA_KEY_TOO_SMALL
    68: "ERR_CERT_WEAK_SIGNATURE_ALGORITHM",  # CA_MD_TOO_WEAK
}

# OpenSSL reason -> Chromium's net error (net/ssl/openssl_ssl_util.cc MapOpenSSLErrorSSL).
_SSL_REASONS = {
    "UNSUPPORTED_PROTOCOL": "ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
    "NO_PROTOCOLS_AVAILABLE": "ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
    "TLSV1_ALERT_PROTOCOL_VERSION": "ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
    "TLSV1_ALERT_INSUFFICIENT_SECURITY": "ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
    "NO_SHARED_CIPHER": "ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
    "NO_CIPHERS_AVAILABLE": "ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
    "NO_CIPHER_MATCH": "ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
    "WRONG_CIPHER_RETURNED": "ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
    "TLSV1_ALERT_DECRYPT_ERROR": "ERR_SSL_DECRYPT_ERROR_ALERT",
    "TLSV1_UNRECOGNIZED_NAME": "ERR_SSL_UNRECOGNIZED_NAME_ALERT",
    "TLSV1_ALERT_UNRECOGNIZED_NAME": "ERR_SSL_UNRECOGNIZED_NAME_ALERT",
    "SSLV3_ALERT_BAD_RECORD_MAC": "ERR_SSL_BAD_RECORD_MAC_ALERT",
    "DECRYPTION_FAILED_OR_BAD_RECORD_MAC": "ERR_SSL_BAD_RECORD_MAC_ALERT",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "ERR_BAD_SSL_CLIENT_AUTH_CERT",
    "SSLV3_ALERT_BAD_CERTIFICATE": "ERR_BAD_SSL_CLIENT_AUTH_CERT",
}


def certificate_error_name(error: BaseException | None) -> str:
    """Return Chromium's name for an OpenSSL certificate verification failure."""
    if isinstance(error, ssl.SSLCertVerificationError):
        found = _VERIFY_CODES.get(error.verify_code)
        if found is not None:
            return found
        if "hostname mismatch" in str(error).lower():
            return "ERR_CERT_COMMON_NAME_INVALID"
    return "ERR_CERT_INVALID"


def ssl_error_name(exc: BaseException) -> str:
    """Return Chromium's name for a TLS handshake failure (not a certificate one)."""
    error = getattr(exc, "os_error", None) or getattr(exc, "__cause__", None) or exc
    if isinstance(error, ssl.SSLCertVerificationError):
        return certificate_error_name(error)
    reason = getattr(error, "reason", None)
    if isinstance(reason, str):
        return _SSL_REASONS.get(reason, "ERR_SSL_PROTOCOL_ERROR")
    return "ERR_SSL_PROTOCOL_ERROR"


# -- set_ssl_config ----------------------------------------------------------------------------


def _conversion_error(what: str, value: Any) -> TypeError:
    # gin's conversion failure, as Electron reports a bad SSLConfig, plus the argument at fault.
    return TypeError(
        f"Error processing argument at index 0, conversion failure from {value!r}: "
        f"setSSLConfig: {what}"
    )


def parse_ssl_config(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[
        ssl.TLSVersion, ssl.TLSVersion, tuple[int, ...]]:
    """Validate ``set_ssl_config``'s options into (min version, max version, disabled suites)."""
    given = options("setSSLConfig", _SSL_CONFIG, args, kwargs)
    minimum, maximum = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
    if "min_version" in given:
        value = given["min_version"]
        if not isinstance(value, str) or value not in _VERSIONS:
            raise _conversion_error("option 'minVersion' must be 'tls1.2' or 'tls1.3'", value)
        minimum = _VERSIONS[value]
    if "max_version" in given:
        value = given["max_version"]
        if not isinstance(value, str) or value not in _VERSIONS:
            raise _conversion_error("option 'maxVersion' must be 'tls1.2' or 'tls1.3'", value)
        maximum = _VERSIONS[value]
    suites: list[int] = []
    if "disabled_cipher_suites" in given:
        value = given["disabled_cipher_suites"]
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise _conversion_error("option 'disabledCipherSuites' must be a list of integers",
                                    value)
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 0xFFFF:
                raise _conversion_error(
                    "option 'disabledCipherSuites' must hold 16-bit cipher suite codes "
                    "such as 0x009c", item)
            suites.append(item)
    return minimum, maximum, tuple(sorted(set(suites)))


def cipher_names(context: ssl.SSLContext, codes: Sequence[int]) -> dict[int, str]:
    """Map TLS 1.2 cipher suite codes (RFC 5246 §A.5) to the OpenSSL names ``context`` offers."""
    wanted = set(codes)
    out: dict[int, str] = {}
    for cipher in context.get_ciphers():
        code = int(cipher["id"]) & 0xFFFF
        if code in wanted and cipher.get("protocol") != "TLSv1.3":
            out[code] = str(cipher["name"])
    return out


_system_roots: frozenset[bytes] | None = None


def system_roots() -> frozenset[bytes]:
    """SHA-256 of the system's trusted roots: what Chromium calls a "known root"."""
    global _system_roots
    if _system_roots is None:
        context = ssl.create_default_context()
        _system_roots = frozenset(
            hashlib.sha256(der).digest() for der in context.get_ca_certs(binary_form=True))
    return _system_roots


# -- the verify proc -------------------------------------------------------------------------


@structure
class CertificateVerifyRequest(Structure):
    """What ``set_certificate_verify_proc``'s proc is asked about."""

    hostname: str = field(default="")
    certificate: Certificate = field(default=None)
    validated_certificate: Certificate = field(default=None)
    is_issued_by_known_root: bool = field(default=False)
    verification_result: str = field(default="net::OK")
    error_code: int = field(default=0)


def _peer_chain(ssl_object: Any, verified: bool) -> list[bytes]:
    if ssl_object is None:
        return []
    name = "get_verified_chain" if verified else "get_unverified_chain"
    getter = getattr(ssl_object, name, None)  # public from Python 3.13
    if getter is not None:
        return [bytes(c) if isinstance(c, (bytes, bytearray)) else c.public_bytes(2)
                for c in getter() or ()]
    inner = getattr(ssl_object, "_sslobj", None)
    getter = getattr(inner, name, None)
    if getter is not None:
        chain = getter() or ()
        return [c.public_bytes(2) for c in chain]  # _ssl.ENCODING_DER
    leaf = ssl_object.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def _ssl_object(proto: Any) -> Any:
    transport = getattr(proto, "transport", None)
    return transport.get_extra_info("ssl_object") if transport is not None else None


class TLSPolicy:
    """One session's TLS settings, the contexts built from them and the verdict cache."""

    def __init__(self) -> None:
        self.min_version = ssl.TLSVersion.TLSv1_2
        self.max_version = ssl.TLSVersion.TLSv1_3
        self.disabled: tuple[int, ...] = ()
        self.configured = False
        self.proc: Callable[..., Any] | None = None
        self.verdicts: OrderedDict[tuple[str, bytes], int] = OrderedDict()
        self.bad_hosts: dict[tuple[str, int], tuple[bytes, int]] = {}
        self.generation = 0
        self.retired: list[aiohttp.ClientSession] = []
        self._contexts: dict[tuple[int, bool], ssl.SSLContext] = {}

    # contexts

    def context(self, base: ssl.SSLContext, *, unverified: bool = False) -> ssl.SSLContext:
        """Return the context new connections use: ``base``'s trust under this policy."""
        if not self.configured and not unverified:
            return base
        key = (id(base), unverified)
        found = self._contexts.get(key)
        if found is None:
            found = self._build(base, unverified)
            self._contexts[key] = found
        return found

    def _build(self, base: ssl.SSLContext, unverified: bool) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if unverified:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context.load_default_certs()
            cadata = b"".join(base.get_ca_certs(binary_form=True))
            if cadata:
                context.load_verify_locations(cadata=cadata)
            context.verify_flags = base.verify_flags
            context.check_hostname = base.check_hostname
            context.verify_mode = base.verify_mode
        context.minimum_version = self.min_version
        context.maximum_version = self.max_version
        context.set_ciphers(CHROMIUM_CIPHERS)
        if self.disabled:
            names = cipher_names(context, self.disabled)
            if names:
                kept = [c["name"] for c in context.get_ciphers()
                        if c.get("protocol") != "TLSv1.3" and c["name"] not in names.values()]
                if kept:
                    context.set_ciphers(":".join(kept))
                elif self.max_version >= ssl.TLSVersion.TLSv1_3:
                    # Every TLS 1.2 suite is disabled: only TLS 1.3 can still be negotiated.
                    context.minimum_version = ssl.TLSVersion.TLSv1_3
                else:
                    context.maximum_version = ssl.TLSVersion.TLSv1_2
                    context.minimum_version = ssl.TLSVersion.TLSv1_3
        return context

    def configure(self, minimum: ssl.TLSVersion, maximum: ssl.TLSVersion,
                  disabled: tuple[int, ...]) -> None:
        self.min_version, self.max_version, self.disabled = minimum, maximum, disabled
        self.configured = True
        self._contexts.clear()
        self.generation += 1

    def set_proc(self, proc: Callable[..., Any] | None) -> None:
        self.proc = proc
        self.verdicts.clear()
        self.bad_hosts.clear()
        self.generation += 1

    # verification through the proc

    async def connect_verified(
        self,
        connect: Callable[[bool], Awaitable[Any]],
        host: str,
        port: int,
    ) -> Any:
        """Open a TLS connection (``connect(unverified)``) and let the proc decide on it."""
        known = self.bad_hosts.get((host, port))
        if known is None:
            try:
                proto = await connect(False)
            except aiohttp.ClientConnectorCertificateError as exc:
                default = NetError(certificate_error_name(exc.certificate_error)).code
                proto = await connect(True)
                chain = _peer_chain(_ssl_object(proto), verified=False)
                if chain:
                    self.bad_hosts[(host, port)] = (chain[0], default)
                validated, known_root = chain, False
            else:
                default = 0
                ssl_object = _ssl_object(proto)
                chain = _peer_chain(ssl_object, verified=False)
                validated = _peer_chain(ssl_object, verified=True) or chain
                known_root = bool(validated) and (
                    hashlib.sha256(validated[-1]).digest() in system_roots())
        else:
            proto = await connect(True)
            chain = _peer_chain(_ssl_object(proto), verified=False)
            if not chain or chain[0] != known[0]:
                # The server now shows another certificate: let OpenSSL judge it afresh.
                proto.close()
                self.bad_hosts.pop((host, port), None)
                return await self.connect_verified(connect, host, port)
            default = known[1]
            validated, known_root = chain, False
        try:
            verdict = await self.decide(host, chain, validated, default, known_root)
        except BaseException:
            proto.close()
            raise
        if verdict != 0:
            proto.close()
            raise NetError(verdict)
        return proto

    async def decide(self, host: str, chain: list[bytes], validated: list[bytes], default: int,
                     known_root: bool) -> int:
        """Return the final verdict for ``chain`` at ``host``: 0, or a net error code."""
        proc = self.proc
        if proc is None or not chain:
            return default
        key = (host, hashlib.sha256(b"".join(chain)).digest())
        cached = self.verdicts.get(key)
        if cached is not None:
            self.verdicts.move_to_end(key)
            return cached
        request = CertificateVerifyRequest(
            hostname=host,
            certificate=certificate_from_chain(chain),
            validated_certificate=certificate_from_chain(validated or chain),
            is_issued_by_known_root=known_root,
            verification_result=NetError(default).name,
            error_code=default,
        )
        answer = await ask(proc, request, default=USE_DEFAULT, what="certificate verify proc")
        if isinstance(answer, bool) or not isinstance(answer, int):
            log.warning("certificate verify proc answered %r, not a net error code; "
                        "using the default verdict", answer)
            answer = USE_DEFAULT
        verdict = default if answer == USE_DEFAULT else int(answer)
        if proc is self.proc:
            self.verdicts[key] = verdict
            if len(self.verdicts) > _VERDICT_CACHE_SIZE:
                self.verdicts.popitem(last=False)
        return verdict


_UNVERIFIED: contextvars.ContextVar[bool] = contextvars.ContextVar("websession_unverified",
                                                                  default=False)


class SessionConnector(aiohttp.TCPConnector):
    """The session's connection pool: TLS from the session's policy, the verify proc after it."""

    def __init__(self, session: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session_ref = session

    def _policy(self) -> TLSPolicy | None:
        return getattr(self._session_ref, "_tls", None)

    def _get_ssl_context(self, req: Any) -> ssl.SSLContext | None:
        context = super()._get_ssl_context(req)
        policy = self._policy()
        if context is None or policy is None or req.ssl is not True:
            return context
        return policy.context(context, unverified=_UNVERIFIED.get())

    async def _create_connection(self, req: Any, traces: Any, timeout: Any) -> Any:
        policy = self._policy()
        if policy is None or policy.proc is None or not req.is_ssl() or req.ssl is not True:
            return await super()._create_connection(req, traces, timeout)
        parent = super()._create_connection

        async def connect(unverified: bool) -> Any:
            token = _UNVERIFIED.set(unverified)
            try:
                return await parent(req, traces, timeout)
            finally:
                _UNVERIFIED.reset(token)

        host = str(req.server_hostname or req.url.raw_host or "").rstrip(".")
        return await policy.connect_verified(connect, host, int(req.port or 443))


def retire_pool(transport: Any, policy: TLSPolicy) -> None:
    """Stop reusing the pooled connections: new requests get a new pool.

    Requests in flight keep their connections; the old pool is closed once idle, or by
    ``close_all_connections`` / ``close``.
    """
    client = getattr(transport, "_client", None)
    if client is None or client.closed:
        return
    transport._client = None
    connector = client.connector
    if connector is not None and not getattr(connector, "_acquired", None):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            policy.retired.append(client)
            return
        asyncio.ensure_future(client.close())
        return
    policy.retired.append(client)


async def close_retired(policy: TLSPolicy) -> None:
    """Close the pools retired by earlier configuration changes."""
    retired, policy.retired = policy.retired, []
    for client in retired:
        if not client.closed:
            try:
                await client.close()
            except RuntimeError:
                # A pool of another (finished) event loop cannot be closed from this one.
                log.debug("could not close a retired pool of another event loop")


class TLSSessionMixin(CamelAliases):
    """``set_ssl_config`` and ``set_certificate_verify_proc`` for a Session."""

    _tls: TLSPolicy
    _transport: Any

    def _setup_tls(self) -> None:
        self._tls = TLSPolicy()

    async def _teardown_tls(self) -> None:
        await close_retired(self._tls)

    def set_ssl_config(self, *args: Any, **kwargs: Any) -> None:
        """Set the TLS versions and disabled TLS 1.2 cipher suites of new connections.

        ``min_version``/``max_version`` are ``'tls1.2'`` or ``'tls1.3'``;
        ``disabled_cipher_suites`` are 16-bit codes (``0x009c``). Pooled connections made
        under the previous configuration are not reused.
        """
        minimum, maximum, disabled = parse_ssl_config(args, kwargs)
        self._tls.configure(minimum, maximum, disabled)
        retire_pool(self._transport, self._tls)

    def set_certificate_verify_proc(self, proc: Callable[..., Any] | None) -> None:
        """Decide on server certificates: ``proc(request, callback)``; ``None`` restores the default.

        The callback takes ``0`` (accept), ``-2`` (reject), ``-3`` (Chromium's verdict) or a
        net error code; a proc may return the code instead.
        """
        check_handler(proc, "Must pass null or function")
        self._tls.set_proc(proc)
        retire_pool(self._transport, self._tls)


__all__ = [
    "CertificateVerifyRequest",
    "SessionConnector",
    "TLSPolicy",
    "TLSSessionMixin",
    "certificate_error_name",
    "cipher_names",
    "parse_ssl_config",
    "retire_pool",
    "ssl_error_name",
]
