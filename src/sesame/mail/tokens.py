"""Tracking paths that are signed, not stored (decision 3).

The paths keep the shape of SES's observed tracking URLs (ses-spec §5.4), so tools
that unwrap `awstrack.me` links by splitting on `/L0/` work on ours too:

    /I0/<message id>/<sig>                              open pixel
    /L0/<url as one path segment>/<index>/<message id>/<sig>  click

`<sig>` is `<key id>.<mac>`: the id of the signing key, then the first 16 bytes of
HMAC-SHA256 in unpadded base64url (22 characters). The MAC covers every field that
the path carries: the kind and version (`I0` / `L0`), the key id, the message id,
the link index and the exact target URL. So the redirect target can only be a URL
this server signed (Sesame is never an open redirector), and a signature for one
message, link or kind is worthless for any other. There is no recipient address in
a path: one message id stands for the message, as in SES.

Keys rotate: new paths are signed with `Keyring.current`; paths signed with any key
still in the keyring keep verifying, so old mail keeps working until its key is
retired. An unknown key id, any changed byte, a missing or extra segment or another
version gives None; the MAC is compared with `hmac.compare_digest`, as text, so a
non-canonical base64 spelling of the same bytes does not verify either.

The URL is one path segment: `quote(url, safe=":=")`, i.e. UTF-8 percent-encoding
of everything but letters, digits, `-._~:=`. So `/`, `?`, `&`, `#`, `%`, `+` and
spaces are escaped and the segment survives CDNs and proxies that merge slashes or
cut at `?` / `#`. Readers accept the path as produced (what ASGI passes as
`raw_path`, str or bytes) and also with escapes decoded by a proxy or server on the
way: a path decoded completely (ASGI `path`) or only partly (`%2F` → `/`) still
verifies, because the fields after the URL are found from the end and both the
once-unescaped and the as-received URL are tried against the MAC; whatever
verifies is by construction a URL this server signed. The web layer should pass
the path without the query string.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final
from urllib.parse import quote, unquote, unquote_to_bytes

__all__ = [
    "MIN_SECRET_BYTES",
    "Click",
    "Keyring",
    "click_path",
    "key_id_of",
    "open_path",
    "read_click",
    "read_open",
    "unescaped",
]

#: A secret shorter than this is refused (at least the HMAC-SHA256 block's worth of
#: entropy that a 16-byte MAC can use).
MIN_SECRET_BYTES: Final = 32
_MAC_BYTES: Final = 16
_MAC_CHARS: Final = 22  # unpadded base64url of 16 bytes
_OPEN: Final = "I0"
_CLICK: Final = "L0"

_KEY_ID: Final = re.compile(r"[a-z0-9]{1,8}", re.ASCII).fullmatch
# Characters that no proxy rewrites in a path segment; starting with an alphanumeric
# keeps `.` and `..` (dot segments, which clients normalise away) out.
_MESSAGE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", re.ASCII).fullmatch
_INDEX: Final = re.compile(r"0|[1-9][0-9]{0,8}", re.ASCII).fullmatch


@dataclass(frozen=True, slots=True)
class Keyring:
    """Signing keys by id; `current` signs new paths, all of them verify."""

    keys: Mapping[str, bytes]  # key id ([a-z0-9]{1,8}) → secret (≥ 32 bytes)
    current: str

    def __post_init__(self) -> None:
        for key_id, secret in self.keys.items():
            if not _KEY_ID(key_id):
                raise ValueError(f"key id {key_id!r} is not 1-8 of [a-z0-9]")
            if len(secret) < MIN_SECRET_BYTES:
                raise ValueError(f"key {key_id!r} is shorter than {MIN_SECRET_BYTES} bytes")
        if self.current not in self.keys:
            raise ValueError(f"current key {self.current!r} is not in the keyring")
        # A private read-only copy: a caller mutating its dict cannot change the ring.
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))


@dataclass(frozen=True, slots=True)
class Click:
    """What a verified click path says."""

    message_id: str
    index: int
    url: str


def _mac(secret: bytes, *fields: str) -> str:
    # Fields joined with NUL: none but the last (the URL) can contain one, so the
    # encoding is unambiguous. Errors="strict": a lone surrogate cannot be signed.
    message = "\0".join(("sesame-tracking", *fields)).encode("utf-8")
    # hmac.digest: the same HMAC, computed in one C call instead of an HMAC object.
    digest = hmac.digest(secret, message, "sha256")[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _check_message_id(message_id: str) -> None:
    if not _MESSAGE_ID(message_id):
        raise ValueError(f"message id {message_id!r} is not path-safe")


def open_path(keyring: Keyring, message_id: str) -> str:
    """`/I0/<message id>/<sig>`: the path of a message's open pixel."""
    _check_message_id(message_id)
    key_id = keyring.current
    mac = _mac(keyring.keys[key_id], _OPEN, key_id, message_id)
    return f"/{_OPEN}/{message_id}/{key_id}.{mac}"


def click_path(keyring: Keyring, message_id: str, index: int, url: str) -> str:
    """`/L0/<encoded url>/<index>/<message id>/<sig>`: the path of one tracked link."""
    _check_message_id(message_id)
    if not _INDEX(str(index)):
        raise ValueError(f"link index {index!r} is out of range")
    if not url:
        raise ValueError("an empty URL cannot be tracked")
    key_id = keyring.current
    mac = _mac(keyring.keys[key_id], _CLICK, key_id, message_id, str(index), url)
    segment = quote(url, safe=":=", errors="strict")
    if segment in (".", ".."):  # a dot segment would be normalised away on the way
        segment = segment.replace(".", "%2E")
    return f"/{_CLICK}/{segment}/{index}/{message_id}/{key_id}.{mac}"


def _text(path: str | bytes) -> str | None:
    if isinstance(path, bytes):
        try:
            return path.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return path


def _secret(keyring: Keyring, sig: str) -> tuple[str, bytes, str] | None:
    key_id, dot, mac = sig.partition(".")
    secret = keyring.keys.get(key_id)
    if not dot or secret is None or len(mac) != _MAC_CHARS or not mac.isascii():
        return None
    return key_id, secret, mac


def key_id_of(path: str | bytes) -> str | None:
    """The key id a signed path names in its last segment (`<key id>.<mac>`), or None
    when that segment is not shaped so. Nothing is verified: this only says which key
    a reader would need (the unsubscribe paths of mail/unsubscribe.py end the same way)."""
    text = _text(path)
    if text is None:
        return None
    key_id, dot, _ = text.rpartition("/")[2].partition(".")
    return key_id if dot and _KEY_ID(key_id) else None


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))


def unescaped(segment: str) -> str:
    """`unquote(segment, errors="strict")`, or `segment` itself where that fails.

    Decoding the whole segment's bytes at once gives the same text as `unquote`,
    which decodes each ASCII run on its own: a literal non-ASCII character always
    starts a whole UTF-8 sequence, so it can neither complete nor continue an escaped
    one; it takes half the time. A segment it cannot encode (a lone surrogate) or
    decode goes the long way, with the same outcome as before."""
    try:
        return unquote_to_bytes(segment).decode("utf-8")
    except UnicodeError:
        pass
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return segment


def read_open(keyring: Keyring, path: str | bytes) -> str | None:
    """The message id of a verified open path, else None."""
    text = _text(path)
    if text is None:
        return None
    parts = text.split("/")
    if len(parts) != 4 or parts[0] or parts[1] != _OPEN or not _MESSAGE_ID(parts[2]):
        return None
    found = _secret(keyring, parts[3])
    if found is None:
        return None
    key_id, secret, mac = found
    return parts[2] if _same(_mac(secret, _OPEN, key_id, parts[2]), mac) else None


def read_click(keyring: Keyring, path: str | bytes) -> Click | None:
    """The message id, link index and target of a verified click path, else None."""
    text = _text(path)
    prefix = f"/{_CLICK}/"
    if text is None or not text.startswith(prefix):
        return None
    # The last three segments are fixed; whatever precedes them is the URL, even when
    # a proxy has turned its `%2F`s back into `/`s.
    parts = text[len(prefix) :].rsplit("/", 3)
    if len(parts) != 4:
        return None
    segment, index, message_id, sig = parts
    if not segment or not _INDEX(index) or not _MESSAGE_ID(message_id):
        return None
    found = _secret(keyring, sig)
    if found is None:
        return None
    key_id, secret, mac = found
    candidates = [segment]
    # A segment without `%` has nothing to unescape (most don't: plain ASCII URLs).
    if "%" in segment:
        decoded = unescaped(segment)
        if decoded != segment:
            candidates.insert(0, decoded)
    for url in candidates:
        try:
            expected = _mac(secret, _CLICK, key_id, message_id, index, url)
        except UnicodeEncodeError:
            continue
        if _same(expected, mac):
            return Click(message_id, int(index), url)
    return None
