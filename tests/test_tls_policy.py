"""set_ssl_config and set_certificate_verify_proc against real TLS servers on loopback."""

from __future__ import annotations

import datetime
import ssl
from typing import Any

import pytest
import trustme
from tls_fixtures import (  # noqa: F401
    context_for,
    leaf_context,
    peers_app,
    self_signed,
    serve_tls,
    threaded_tls,
)

from websession import NetError
from websession._certificate import certificate_from_chain, chain_from_pem
from websession._tls import CHROMIUM_CIPHERS, cipher_names

AES128_GCM_SHA256 = 0x009C


@pytest.fixture(scope="module")
def certs(tls_ca: trustme.CA) -> dict[str, ssl.SSLContext]:
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=10)
    expired = tls_ca.issue_cert("127.0.0.1", not_before=past - datetime.timedelta(days=30),
                                not_after=past)
    rsa = tls_ca.issue_cert("127.0.0.1", key_type=trustme.KeyType.RSA)
    good = tls_ca.issue_cert("127.0.0.1", "localhost", organization_name="Good Org")
    return {
        "good": leaf_context(good),
        "expired": leaf_context(expired),
        "wrong_host": leaf_context(tls_ca.issue_cert("example.org")),
        "unknown_ca": leaf_context(trustme.CA().issue_cert("127.0.0.1")),
        "self_signed": context_for(*self_signed()),
        "tls12_aes128": leaf_context(rsa, maximum=ssl.TLSVersion.TLSv1_2,
                                     ciphers="AES128-GCM-SHA256"),
        "tls12": leaf_context(good, maximum=ssl.TLSVersion.TLSv1_2),
        "tls13": leaf_context(good, minimum=ssl.TLSVersion.TLSv1_3),
    }


async def status(ses: Any, url: str) -> int:
    response = await ses.fetch(url)
    await response.bytes()
    return int(response.status)


async def error(ses: Any, url: str) -> str:
    with pytest.raises(NetError) as info:
        await status(ses, url)
    return str(info.value.name)


# -- default verification ----------------------------------------------------------------------


@pytest.mark.parametrize("kind,expected", [
    ("expired", "net::ERR_CERT_DATE_INVALID"),
    ("wrong_host", "net::ERR_CERT_COMMON_NAME_INVALID"),
    ("unknown_ca", "net::ERR_CERT_AUTHORITY_INVALID"),
    ("self_signed", "net::ERR_CERT_AUTHORITY_INVALID"),
])
async def test_bad_certificates_fail_by_default(ses, serve_tls, certs, kind, expected) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url = await serve_tls(peers_app([]), certs[kind])
    assert await error(ses, url) == expected


# -- set_ssl_config ----------------------------------------------------------------------------


async def test_versions_change_what_connects(ses, threaded_tls, certs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    only12 = threaded_tls(certs["tls12"])
    only13 = threaded_tls(certs["tls13"])
    assert await status(ses, only12) == 200
    assert await status(ses, only13) == 200
    ses.set_ssl_config(min_version="tls1.3")
    assert await error(ses, only12) == "net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH"
    assert await status(ses, only13) == 200
    ses.setSSLConfig({"maxVersion": "tls1.2"})
    assert await status(ses, only12) == 200
    assert await error(ses, only13) == "net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH"
    ses.set_ssl_config()
    assert await status(ses, only12) == 200 and await status(ses, only13) == 200


async def test_disabled_cipher_suite(ses, threaded_tls, certs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url = threaded_tls(certs["tls12_aes128"])
    ses.set_ssl_config({})  # Chromium's cipher suites, which include TLS_RSA_WITH_AES_128_GCM_SHA256
    assert await status(ses, url) == 200
    ses.set_ssl_config(disabled_cipher_suites=[AES128_GCM_SHA256, 0x1301, 0xFFFF])
    assert await error(ses, url) == "net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH"
    ses.set_ssl_config(disabled_cipher_suites=[])
    assert await status(ses, url) == 200


async def test_old_pooled_connections_are_not_reused(ses, serve_tls, certs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    peers: list[Any] = []
    url = await serve_tls(peers_app(peers), certs["good"])
    await status(ses, url)
    await status(ses, url)
    assert peers[0] == peers[1]  # kept alive and reused
    ses.set_ssl_config(min_version="tls1.2")
    await status(ses, url)
    assert peers[2] != peers[1]


def test_cipher_codes_map_to_openssl_names() -> None:
    context = ssl.create_default_context()
    context.set_ciphers(CHROMIUM_CIPHERS)
    names = cipher_names(context, [0x009C, 0xC02F, 0x1301, 0x0004])
    assert names[0x009C] == "AES128-GCM-SHA256"
    assert names[0xC02F] == "ECDHE-RSA-AES128-GCM-SHA256"
    assert 0x1301 not in names  # TLS 1.3 suites cannot be disabled
    assert 0x0004 not in names  # RC4 is not offered at all


@pytest.mark.parametrize("bad", [
    {"minVersion": "tls1"}, {"minVersion": "tls1.1"}, {"maxVersion": "ssl3"}, {"minVersion": 3},
    {"disabledCipherSuites": "0x009c"}, {"disabledCipherSuites": [0x10000]},
    {"disabledCipherSuites": [True]},
])
async def test_bad_ssl_config(ses, bad) -> None:  # type: ignore[no-untyped-def]
    ses.set_ssl_config(min_version="tls1.3")
    with pytest.raises(TypeError, match="Error processing argument at index 0"):
        ses.set_ssl_config(bad)
    assert ses._tls.min_version == ssl.TLSVersion.TLSv1_3  # the earlier config survives


async def test_unknown_ssl_config_key(ses) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="unknown option 'foo'"):
        ses.set_ssl_config(foo=1)


# -- set_certificate_verify_proc -----------------------------------------------------------------


async def test_proc_sees_chromium_request_and_accepts_a_bad_certificate(ses, serve_tls, certs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url = await serve_tls(peers_app([]), certs["unknown_ca"])
    seen: list[Any] = []

    def proc(request: Any, callback: Any) -> None:
        seen.append(request)
        callback(0)

    ses.set_certificate_verify_proc(proc)
    assert await status(ses, url) == 200
    request = seen[0]
    assert request.hostname == "127.0.0.1"
    assert request["verificationResult"] == "net::ERR_CERT_AUTHORITY_INVALID"
    assert request.error_code == -202
    assert request.is_issued_by_known_root is False
    cert = request.certificate
    assert cert.data.startswith("-----BEGIN CERTIFICATE-----")
    assert cert.fingerprint.startswith("sha256/") and len(cert.fingerprint) == 7 + 44
    assert cert.subject_name == "" or isinstance(cert.subject_name, str)
    assert cert.valid_start < cert.valid_expiry
    assert cert.to_dict()["issuerName"] == cert.issuer_name


async def test_proc_ok_result_and_reject(ses, serve_tls, certs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url = await serve_tls(peers_app([]), certs["good"])
    seen: list[Any] = []

    def proc(request: Any) -> int:  # answering by return value
        seen.append(request)
        return -2

    ses.setCertificateVerifyProc(proc)
    assert await error(ses, url) == "net::ERR_FAILED"
    assert seen[0].verification_result == "net::OK" and seen[0].error_code == 0
    validated = seen[0].validated_certificate
    assert validated.issuer_cert is not None  # the verified chain reaches the test CA
    assert seen[0].is_issued_by_known_root is False  # the test CA is not a system root


async def test_proc_default_verdict_and_other_codes(ses, serve_tls, certs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    bad = await serve_tls(peers_app([]), certs["expired"])
    good = await serve_tls(peers_app([]), certs["good"])
    ses.set_certificate_verify_proc(lambda request, callback: callback(-3))
    assert await error(ses, bad) == "net::ERR_CERT_DATE_INVALID"
    assert await status(ses, good) == 200
    ses.set_certificate_verify_proc(lambda request, callback: callback(-200))
    assert await error(ses, good) == "net::ERR_CERT_COMMON_NAME_INVALID"


async def test_verdicts_are_cached_until_the_proc_changes(ses, serve_tls, certs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url = await serve_tls(peers_app([]), certs["self_signed"])
    calls: list[str] = []

    def proc(request: Any, callback: Any) -> None:
        calls.append(request.hostname)
        callback(0)

    ses.set_certificate_verify_proc(proc)
    assert await status(ses, url) == 200
    await ses.close_all_connections()  # new connections, same host and certificate
    assert await status(ses, url) == 200
    assert calls == ["127.0.0.1"]
    ses.set_certificate_verify_proc(proc)
    assert await status(ses, url) == 200
    assert len(calls) == 2


async def test_none_restores_the_default(ses, serve_tls, certs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url = await serve_tls(peers_app([]), certs["wrong_host"])
    ses.set_certificate_verify_proc(lambda request, callback: callback(0))
    assert await status(ses, url) == 200
    ses.set_certificate_verify_proc(None)
    assert await error(ses, url) == "net::ERR_CERT_COMMON_NAME_INVALID"


async def test_raising_proc_uses_the_default(ses, serve_tls, certs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    good = await serve_tls(peers_app([]), certs["good"])
    bad = await serve_tls(peers_app([]), certs["self_signed"])

    def proc(request: Any, callback: Any) -> None:
        raise RuntimeError("boom")

    ses.set_certificate_verify_proc(proc)
    assert await status(ses, good) == 200
    assert await error(ses, bad) == "net::ERR_CERT_AUTHORITY_INVALID"


async def test_proc_sessions_are_independent(ses, serve_tls, certs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from websession import session

    url = await serve_tls(peers_app([]), certs["self_signed"])
    other = session.from_partition(ses.partition + "-other")
    try:
        other._transport.ssl_context = ses._transport.ssl_context
        ses.set_certificate_verify_proc(lambda request, callback: callback(0))
        assert await status(ses, url) == 200
        assert await error(other, url) == "net::ERR_CERT_AUTHORITY_INVALID"
    finally:
        await other.close()


async def test_async_proc_answers_later(ses, serve_tls, certs) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import asyncio

    url = await serve_tls(peers_app([]), certs["self_signed"])

    async def proc(request: Any, callback: Any) -> None:
        await asyncio.sleep(0.01)
        asyncio.get_running_loop().call_later(0.01, callback, 0)

    ses.set_certificate_verify_proc(proc)
    assert await status(ses, url) == 200


def test_bad_proc_type() -> None:
    from websession import session

    ses = session.from_partition("tls-bad-proc")
    with pytest.raises(TypeError, match="Must pass null or function"):
        ses.set_certificate_verify_proc("no")


# -- the Certificate structure -------------------------------------------------------------------


def test_certificate_structure(tls_ca: trustme.CA) -> None:
    leaf = tls_ca.issue_cert("127.0.0.1", common_name="leaf.test", organization_name="Org A",
                             organization_unit_name="Unit B")
    chain = chain_from_pem(b"".join(b.bytes() for b in leaf.cert_chain_pems) + tls_ca.cert_pem.bytes())
    cert = certificate_from_chain(chain)
    assert cert.subject.common_name == "leaf.test" and cert.subject_name == "leaf.test"
    assert cert.subject.organizations == ("Org A",)
    assert cert.subject.organization_units == ("Unit B",)
    assert cert.issuer_cert is not None and cert.issuer_cert.subject == cert.issuer
    assert cert.issuer_cert.issuer_cert is None
    assert cert.issuer_name == cert.issuer_cert.subject_name
    assert int(cert.serial_number, 16) > 0 and cert.serial_number == cert.serial_number.upper()
    shape = cert.to_dict()
    assert set(shape) == {"data", "issuer", "issuerName", "issuerCert", "subject", "subjectName",
                          "serialNumber", "validStart", "validExpiry", "fingerprint"}
    assert set(shape["subject"]) == {"commonName", "organizations", "organizationUnits",
                                     "locality", "state", "country"}
    assert cert.der == chain[0]
    import base64
    import hashlib

    assert cert.fingerprint == "sha256/" + base64.b64encode(hashlib.sha256(chain[0]).digest()).decode()
