"""Who may use the inbox: sessions, logins, CSRF tokens and the Host check.

Every browser gets a session cookie, logged in or not: it carries a random nonce,
its issue time and whether it is logged in, signed with a key derived from the
account's secret (and `--ui-password`), so every process of one Sesame accepts
it and changing the secret ends every session. The CSRF token of a form is an
HMAC of the session's nonce: a page of another site can neither read it nor make
the browser send the cookie (SameSite=Strict), so it cannot act for the user.

Bound to a loopback address the inbox needs no login, but still answers only
requests whose Host is a loopback name: a page of another site that has its own
name resolve to 127.0.0.1 (DNS rebinding) would otherwise read the mail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass

COOKIE = "sesame_inbox"
#: A logged-in session lasts this long; then the inbox asks again.
MAX_AGE = 12 * 3600
#: Failed logins one client address may make within FAILURE_WINDOW seconds.
MAX_FAILURES = 10
FAILURE_WINDOW = 300.0


@dataclass(frozen=True, slots=True)
class Session:
    nonce: str
    issued: int
    logged_in: bool


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def is_loopback_host(host_header: str) -> bool:
    """A Host header naming this machine: localhost, 127.0.0.0/8 or [::1], any port."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Access:
    def __init__(
        self,
        *,
        open_: bool,
        access_key_id: str,
        secret_access_key: str,
        ui_password: str | None,
    ) -> None:
        #: No login needed (bound to loopback, see the module docstring).
        self.open = open_
        self._access_key_id = access_key_id
        self._secret = secret_access_key
        self._password = ui_password
        material = f"{secret_access_key}\0{ui_password or ''}".encode()
        self._key = hmac.new(material, b"sesame-inbox-session-v1", hashlib.sha256).digest()
        self._failures: dict[str, list[float]] = {}

    # Sessions -------------------------------------------------------------------
    def new_session(self, *, logged_in: bool) -> Session:
        return Session(secrets.token_urlsafe(16), int(time.time()), logged_in)

    def _mac(self, text: str) -> str:
        return _b64(hmac.new(self._key, text.encode(), hashlib.sha256).digest()[:24])

    def encode(self, session: Session) -> str:
        body = f"{session.nonce}.{session.issued}.{int(session.logged_in)}"
        return f"{body}.{self._mac(body)}"

    def decode(self, value: str | None, *, now: float | None = None) -> Session | None:
        """The session a cookie value carries, if it is ours and not expired."""
        if not value:
            return None
        body, _, mac = value.rpartition(".")
        parts = body.split(".")
        if len(parts) != 3 or not hmac.compare_digest(self._mac(body), mac):
            return None
        nonce, issued, logged_in = parts
        if not issued.isdigit() or logged_in not in ("0", "1"):
            return None
        if (now or time.time()) - int(issued) > MAX_AGE:
            return None
        return Session(nonce, int(issued), logged_in == "1")

    def cookie(self, session: Session, *, secure: bool, prefix: str) -> str:
        """The Set-Cookie value: HttpOnly, SameSite=Strict, Secure under HTTPS."""
        flags = f"Path={prefix}; Max-Age={MAX_AGE}; HttpOnly; SameSite=Strict"
        return f"{COOKIE}={self.encode(session)}; {flags}{'; Secure' if secure else ''}"

    def allows(self, session: Session | None) -> bool:
        return self.open or (session is not None and session.logged_in)

    # CSRF -----------------------------------------------------------------------
    def csrf_token(self, session: Session) -> str:
        return self._mac(f"csrf\0{session.nonce}")

    def csrf_ok(self, session: Session | None, token: str | None) -> bool:
        if session is None or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)

    # Logins ---------------------------------------------------------------------
    def throttled(self, client: str, *, now: float | None = None) -> bool:
        """Too many failed logins from this address lately."""
        moment = now or time.time()
        recent = [t for t in self._failures.get(client, []) if moment - t < FAILURE_WINDOW]
        self._failures[client] = recent
        return len(recent) >= MAX_FAILURES

    def check_login(self, client: str, key_id: str, secret: str) -> bool:
        """The access key pair, or (key id left empty) the --ui-password."""
        if key_id:
            ok = hmac.compare_digest(key_id.encode(), self._access_key_id.encode())
            ok &= hmac.compare_digest(secret.encode(), self._secret.encode())
        else:
            ok = self._password is not None and hmac.compare_digest(
                secret.encode(), self._password.encode()
            )
        if not ok:
            if len(self._failures) > 10_000:  # bounded: forget the oldest addresses
                self._failures.clear()
            self._failures.setdefault(client, []).append(time.time())
        return ok

    @property
    def has_password(self) -> bool:
        return self._password is not None
