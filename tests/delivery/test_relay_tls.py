"""Delivery to a relay that wants TLS and AUTH, as production relays do.

The relay is a real aiosmtpd server with a certificate of its own (self-signed,
made here for 127.0.0.1), trusted through `--smtp-ca-file`; Sesame verifies the
certificate and its host name, and never sends credentials in the clear.
Trouble with Sesame's own connection (an untrusted certificate, bad credentials,
TLS required but not used) is retried with a DeliveryDelay that says why: it is
never a bounce, so it never puts a recipient on the suppression list.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import RunningSesame, start_sesame
from smtp_sink import SmtpSink

USER, PASSWORD = "sesame", "relay-password-1"

# aiosmtpd warns, for every session of the implicit-TLS relay, that AUTH is offered
# without STARTTLS: that session is TLS from its first byte.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "relay.pem", folder / "relay.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and (
        auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=good, handled=False, auth_data=auth_data)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _certificate(tmp_path_factory.mktemp("relay-tls"))


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture(scope="module")
def starttls_relay(certificate: tuple[Path, Path]) -> Iterator[SmtpSink]:
    """A submission-style relay: STARTTLS required, then AUTH required."""
    relay = SmtpSink(
        tls_context=_server_context(certificate),
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    relay.start()
    yield relay
    relay.stop()


@pytest.fixture(scope="module")
def implicit_tls_relay(certificate: tuple[Path, Path]) -> Iterator[SmtpSink]:
    """A port-465-style relay: TLS from the first byte, then AUTH required."""
    # aiosmtpd counts only STARTTLS as TLS when it decides whether to offer AUTH;
    # this whole session is encrypted (see `pytestmark` for its warning).
    relay = SmtpSink(
        ssl_context=_server_context(certificate),
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    relay.start()
    yield relay
    relay.stop()


def _sesame(folder: Path, relay: SmtpSink, **settings: Any) -> RunningSesame:
    return start_sesame(folder, smtp_relay=relay.address, **settings)


def _send(running: RunningSesame, recipient: str) -> str:
    client = running.client()
    client.create_email_identity(EmailIdentity="tls.example.com")
    answer = client.send_email(
        FromEmailAddress="news@tls.example.com",
        Destination={"ToAddresses": [recipient]},
        Content={"Simple": {"Subject": {"Data": "over TLS"}, "Body": {"Text": {"Data": "hi"}}}},
    )
    return str(answer["MessageId"])


def test_starttls_and_auth_deliver_encrypted_and_authenticated(
    tmp_path: Path, starttls_relay: SmtpSink, certificate: tuple[Path, Path]
) -> None:
    running = _sesame(
        tmp_path,
        starttls_relay,
        smtp_tls="starttls",
        smtp_ca_file=str(certificate[0]),
        smtp_username=USER,
        smtp_password=PASSWORD,
    )
    try:
        message_id = _send(running, "reader@example.org")
        received = starttls_relay.next()
        assert received.tls and received.login == USER
        assert received.recipients == ["reader@example.org"]
        delivery = running.events(message_id, "Delivery")[-1].record["delivery"]
        assert delivery["smtpResponse"].startswith("250 ")
    finally:
        running.stop()


def test_implicit_tls_and_auth_deliver(
    tmp_path: Path, implicit_tls_relay: SmtpSink, certificate: tuple[Path, Path]
) -> None:
    running = _sesame(
        tmp_path,
        implicit_tls_relay,
        smtp_tls="tls",
        smtp_ca_file=str(certificate[0]),
        smtp_username=USER,
        smtp_password=PASSWORD,
    )
    try:
        message_id = _send(running, "reader@example.org")
        received = implicit_tls_relay.next()
        assert received.tls and received.login == USER
        running.events(message_id, "Delivery")
    finally:
        running.stop()


def _delay_diagnostic(running: RunningSesame, message_id: str) -> str:
    events = running.events(message_id, "DeliveryDelay")
    assert not [e for e in events if e.event_type in ("Bounce", "Delivery")]
    delay = next(e for e in events if e.event_type == "DeliveryDelay").record["deliveryDelay"]
    return str(delay["delayedRecipients"][0]["diagnosticCode"])


def test_an_untrusted_certificate_is_retried_not_delivered(
    tmp_path: Path, starttls_relay: SmtpSink
) -> None:
    # No --smtp-ca-file: the system's CAs do not know the relay's certificate.
    running = _sesame(
        tmp_path, starttls_relay, smtp_tls="starttls", smtp_username=USER, smtp_password=PASSWORD
    )
    try:
        message_id = _send(running, "reader@example.org")
        assert "CERTIFICATE_VERIFY_FAILED" in _delay_diagnostic(running, message_id)
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"smtp_tls": "starttls", "smtp_username": USER, "smtp_password": "wrong"}, "535"),
        # The relay requires STARTTLS first: MAIL FROM is refused with 530.
        ({"smtp_tls": "none"}, "530"),
        # Credentials without TLS: the relay offers no AUTH in the clear, and they
        # are never sent.
        (
            {"smtp_tls": "none", "smtp_username": USER, "smtp_password": PASSWORD},
            "AUTH extension is not supported",
        ),
    ],
    ids=["bad-credentials", "tls-required", "no-auth-in-the-clear"],
)
def test_relay_set_up_trouble_is_a_delay_and_suppresses_nobody(
    tmp_path: Path,
    starttls_relay: SmtpSink,
    certificate: tuple[Path, Path],
    settings: dict[str, Any],
    said: str,
) -> None:
    running = _sesame(
        tmp_path,
        starttls_relay,
        smtp_ca_file=str(certificate[0]),
        **settings,
    )
    try:
        recipient = f"{said[:3]}@example.org"
        message_id = _send(running, recipient)
        assert said in _delay_diagnostic(running, message_id)
        assert running.app.store.get_suppressed_destination(recipient) is None
    finally:
        running.stop()


def test_a_missing_ca_file_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--smtp-ca-file: no such file"):
        start_sesame(tmp_path, smtp_relay="127.0.0.1:25", smtp_ca_file=str(tmp_path / "no.pem"))
