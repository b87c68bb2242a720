"""Signed one-click unsubscribe paths (RFC 8058), with the tracking keyring.

SendEmail's `ListManagementOptions` puts a `List-Unsubscribe` header pointing
here into the message. The path carries, in one base64url segment, the message
id, the index of the recipient in the message's destination, the contact list
and the topic; the signature covers all of it, so nobody can unsubscribe an
address from a list by editing a URL. No address travels in the path: the
recipient is looked up through the message, as tracking links do it.

    /U0/<payload>/<key id>.<mac>

The MAC is HMAC-SHA256 truncated to 16 bytes by a key of the same `Keyring` that
signs tracking links (mail/tokens.py), with its own domain-separation prefix, so
a tracking signature never verifies as an unsubscribe one nor the reverse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Final

from sesame.mail.tokens import Keyring

PREFIX: Final = "/U0/"
_MAC_BYTES: Final = 16


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    message_id: str
    #: The recipient's index in the message's destination list.
    index: int
    contact_list: str
    topic: str | None


def _mac(secret: bytes, key_id: str, payload: str) -> str:
    message = "\0".join(("sesame-unsubscribe", key_id, payload)).encode("ascii")
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def unsubscribe_path(keyring: Keyring, what: Unsubscribe) -> str:
    document = {"m": what.message_id, "i": what.index, "l": what.contact_list, "t": what.topic}
    raw = json.dumps(document, separators=(",", ":")).encode("utf-8")
    payload = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    key_id = keyring.current
    return f"{PREFIX}{payload}/{key_id}.{_mac(keyring.keys[key_id], key_id, payload)}"


def read_unsubscribe(keyring: Keyring, path: str) -> Unsubscribe | None:
    """What a verified path says, else None."""
    if not path.startswith(PREFIX):
        return None
    payload, slash, sig = path[len(PREFIX) :].partition("/")
    key_id, dot, mac = sig.partition(".")
    secret = keyring.keys.get(key_id)
    if not slash or not dot or secret is None or not payload.isascii() or not mac.isascii():
        return None
    if not hmac.compare_digest(_mac(secret, key_id, payload).encode(), mac.encode()):
        return None
    try:
        document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        what = Unsubscribe(document["m"], int(document["i"]), document["l"], document["t"])
    except (binascii.Error, ValueError, TypeError, KeyError):
        return None  # signed by us, so never expected; still never a 500
    return what
