"""Notifications as SNS delivers them to an HTTP(S) subscriber, signed as SNS signs.

SNS POSTs a JSON envelope (`Type`, `MessageId`, `TopicArn`, `Subject`, `Message`,
`Timestamp`, `SignatureVersion`, `Signature`, `SigningCertURL`, `UnsubscribeURL`)
with `x-amz-sns-*` headers (SNS developer guide, "Parsing message formats" and
"Verifying the signatures of Amazon SNS messages"). SES event publishing puts the
event record, as a JSON string, in `Message`, with the subject
`Amazon SES Email Event Notification` (ses-spec.md §5.6).

Signature: SignatureVersion 2, SHA256withRSA (PKCS#1 v1.5) over SNS's canonical
string for a Notification: the pairs `Message`, `MessageId`, `Subject` (only when
there is one), `Timestamp`, `TopicArn`, `Type`, each as `name\\nvalue\\n`, in that
order. Version 1 is the same with SHA1; we use 2 because SHA1 signatures are
deprecated and every SNS verifier we know accepts both. The key is Sesame's own:
an RSA key and a self-signed certificate made once and kept in the store, so all
processes on one database sign with it; the certificate is served at
`SigningCertURL` (GET `/_sesame/sns/SimpleNotificationService-<id>.pem`).
"""

from __future__ import annotations

import base64
import datetime
import json
import time
import uuid
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from sesame.events.records import iso
from sesame.store.base import SnsCertificate, Store

SUBJECT = "Amazon SES Email Event Notification"
SIGNATURE_VERSION = "2"
CERT_PATH_PREFIX = "/_sesame/sns/"
#: SNS signs these envelope members of a Notification, in this order (Subject only when set).
SIGNED_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")


def new_certificate(now: float | None = None) -> SnsCertificate:
    """A fresh RSA-2048 key and a self-signed certificate for it (valid ten years)."""
    moment = datetime.datetime.fromtimestamp(now or time.time(), datetime.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sesame SNS notifications")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - datetime.timedelta(days=1))
        .not_valid_after(moment + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return SnsCertificate(uuid.uuid4().hex, key_pem, cert_pem, moment.timestamp())


def string_to_sign(envelope: dict[str, str]) -> bytes:
    """SNS's canonical string for a Notification (what receivers rebuild to verify)."""
    parts: list[str] = []
    for key in SIGNED_NOTIFICATION_KEYS:
        if key in envelope:
            parts += [key, envelope[key]]
    return ("\n".join(parts) + "\n").encode("utf-8")


class Signer:
    """Signs notifications with the store's key, made on first use (not at start-up:
    an RSA key takes a moment to make, and most deployments never need one)."""

    def __init__(self, store: Store, base_url: str) -> None:
        self.store = store
        #: Where receivers fetch the certificate: Sesame's base URL, no trailing slash.
        self.base_url = base_url.rstrip("/")

    @cached_property
    def certificate(self) -> SnsCertificate:
        return self.store.sns_certificate(new_certificate)

    @cached_property
    def _key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(
            self.certificate.private_key.encode("ascii"), password=None
        )
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    @property
    def cert_path(self) -> str:
        return f"{CERT_PATH_PREFIX}SimpleNotificationService-{self.certificate.id}.pem"

    def notification(
        self, topic_arn: str, message: str, subscriber: str, *, now: float | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """(envelope, HTTP headers) of one notification to the subscriber URL."""
        message_id = str(uuid.uuid4())
        # One stable subscription per (topic, URL), as SNS has one per confirmed endpoint.
        subscription = f"{topic_arn}:{uuid.uuid5(uuid.NAMESPACE_URL, subscriber)}"
        envelope = {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic_arn,
            "Subject": SUBJECT,
            "Message": message,
            "Timestamp": iso(time.time() if now is None else now),
            "SignatureVersion": SIGNATURE_VERSION,
        }
        signature = self._key.sign(string_to_sign(envelope), padding.PKCS1v15(), hashes.SHA256())
        envelope["Signature"] = base64.b64encode(signature).decode("ascii")
        envelope["SigningCertURL"] = self.base_url + self.cert_path
        envelope["UnsubscribeURL"] = (
            f"{self.base_url}{CERT_PATH_PREFIX}unsubscribe?SubscriptionArn={subscription}"
        )
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "User-Agent": "Amazon Simple Notification Service Agent",
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": message_id,
            "x-amz-sns-topic-arn": topic_arn,
            "x-amz-sns-subscription-arn": subscription,
        }
        return envelope, headers

    def body(self, envelope: dict[str, str]) -> bytes:
        return json.dumps(envelope, indent=2).encode("utf-8")
