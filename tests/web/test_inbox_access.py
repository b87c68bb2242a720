"""Who may use the inbox: open on loopback, a login elsewhere, CSRF on every action.

Plain HTTP against a running Sesame. A server told it listens on 0.0.0.0 (the
harness still binds it to 127.0.0.1) behaves as one on a network address would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from harness import ACCESS_KEY_ID, SECRET_ACCESS_KEY, RunningSesame, start_sesame
from inbox_client import InboxClient

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSesame]:
    running = start_sesame(
        tmp_path_factory.mktemp("guarded"),
        host="0.0.0.0",
        ui_password=PASSWORD,
        trusted_proxies="127.0.0.0/8",
    )
    yield running
    running.stop()


def send(server: RunningSesame, subject: str = "Hello") -> str:
    client: Any = server.client()
    with contextlib.suppress(client.exceptions.AlreadyExistsException):
        client.create_email_identity(EmailIdentity="example.com")
    answer = client.send_email(
        FromEmailAddress="a@example.com",
        Destination={"ToAddresses": ["b@example.org"]},
        Content={"Simple": {"Subject": {"Data": subject}, "Body": {"Text": {"Data": "hi"}}}},
    )
    return str(answer["MessageId"])


def logged_in(server: RunningSesame) -> InboxClient:
    browser = InboxClient(server.url)
    page = browser.get("/_sesame/login")
    answer = browser.post(
        "/_sesame/login",
        {"csrf": page.csrf(), "access_key_id": ACCESS_KEY_ID, "secret": SECRET_ACCESS_KEY},
    )
    assert answer.status == 303
    return browser


# --- open on loopback -------------------------------------------------------------------


def test_loopback_inbox_is_open_without_login(inbox_server: RunningSesame) -> None:
    browser = InboxClient(inbox_server.url)
    answer = browser.get("/_sesame/")
    assert answer.status == 200
    assert "Messages" in answer.text and "Log out" not in answer.text
    assert browser.get("/_sesame/login").headers["Location"] == "/_sesame/"
    assert browser.get("/_sesame").headers["Location"] == "/_sesame/"


def test_loopback_inbox_refuses_other_host_names(inbox_server: RunningSesame) -> None:
    """DNS rebinding: a page on evil.example whose name resolves to 127.0.0.1."""
    for host in ("evil.example", "evil.example:8840", "127.0.0.1.evil.example"):
        answer = InboxClient(inbox_server.url, extra={"Host": host}).get("/_sesame/")
        assert answer.status == 403, host
    for host in ("localhost:8840", "127.0.0.1", "[::1]:8840", "app.localhost"):
        assert InboxClient(inbox_server.url, extra={"Host": host}).get("/_sesame/").status == 200


def test_pages_carry_security_headers(inbox_server: RunningSesame) -> None:
    answer = InboxClient(inbox_server.url).get("/_sesame/")
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"


# --- a login elsewhere ---------------------------------------------------------------------


def test_non_loopback_inbox_asks_for_a_login(guarded: RunningSesame) -> None:
    browser = InboxClient(guarded.url)
    answer = browser.get("/_sesame/messages/x?images=1")
    assert answer.status == 303
    assert answer.headers["Location"] == "/_sesame/login?next=%2F_sesame%2Fmessages%2Fx"
    for path in ("/_sesame/", "/_sesame/configuration-sets", "/_sesame/identities"):
        assert browser.get(path).status == 303
    assert browser.get("/_sesame/live").status == 403
    # A host name is no problem here: the login is what protects it.
    assert browser.get("/_sesame/login", Host="sesame.internal:8840").status == 200


def test_login_with_the_key_pair_sets_a_strict_http_only_cookie(guarded: RunningSesame) -> None:
    browser = InboxClient(guarded.url)
    page = browser.get("/_sesame/login?next=/_sesame/identities")
    assert page.status == 200 and 'name="secret"' in page.text
    answer = browser.post(
        "/_sesame/login",
        {
            "csrf": page.csrf(),
            "next": "/_sesame/identities",
            "access_key_id": ACCESS_KEY_ID,
            "secret": SECRET_ACCESS_KEY,
        },
    )
    assert answer.status == 303 and answer.headers["Location"] == "/_sesame/identities"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/_sesame/" in cookie
    assert "Secure" not in cookie  # plain http
    assert SECRET_ACCESS_KEY not in cookie
    assert browser.get("/_sesame/identities").status == 200
    assert "Log out" in browser.get("/_sesame/").text


def test_login_with_the_ui_password(guarded: RunningSesame) -> None:
    browser = InboxClient(guarded.url)
    page = browser.get("/_sesame/login")
    # Logging in is an action too: without the form token, the right password is refused.
    assert browser.post("/_sesame/login", {"secret": PASSWORD}).status == 403
    assert browser.get("/_sesame/").status == 303
    answer = browser.post("/_sesame/login", {"csrf": page.csrf(), "secret": PASSWORD})
    assert answer.status == 303
    assert browser.get("/_sesame/").status == 200


def test_wrong_logins_are_refused_and_never_redirect_off_site(guarded: RunningSesame) -> None:
    browser = InboxClient(guarded.url)
    token = browser.get("/_sesame/login").csrf()
    for form in (
        {"access_key_id": ACCESS_KEY_ID, "secret": "wrong"},
        {"access_key_id": "AKIAOTHER", "secret": SECRET_ACCESS_KEY},
        {"secret": SECRET_ACCESS_KEY},  # the secret is not the password
        {"secret": ""},
    ):
        answer = browser.post("/_sesame/login", {"csrf": token, **form})
        assert answer.status == 401, form
        assert "did not match" in answer.text
    assert browser.get("/_sesame/").status == 303
    answer = browser.post(
        "/_sesame/login",
        {"csrf": token, "next": "//evil.example/", "secret": PASSWORD},
    )
    assert answer.headers["Location"] == "/_sesame/"


def test_a_forged_or_tampered_cookie_is_no_session(guarded: RunningSesame) -> None:
    browser = logged_in(guarded)
    value = browser.cookies["sesame_inbox"]
    nonce, issued, flag, mac = value.split(".")
    browser.cookies["sesame_inbox"] = f"{nonce}.{issued}.1.{mac[:-2]}AA"
    assert browser.get("/_sesame/").status == 303
    forged = InboxClient(guarded.url, cookies={"sesame_inbox": f"x.{issued}.1.{mac}"})
    assert forged.get("/_sesame/").status == 303


def test_secure_cookie_behind_a_trusted_https_proxy(guarded: RunningSesame) -> None:
    browser = InboxClient(guarded.url)
    answer = browser.get("/_sesame/login", X_Forwarded_Proto="https")
    assert "; Secure" in answer.headers["Set-Cookie"]


def test_logout_ends_the_session(guarded: RunningSesame) -> None:
    browser = logged_in(guarded)
    token = browser.get("/_sesame/").csrf()
    assert browser.post("/_sesame/logout", {"csrf": "nope"}).status == 403
    assert browser.get("/_sesame/").status == 200
    answer = browser.post("/_sesame/logout", {"csrf": token})
    assert answer.headers["Location"] == "/_sesame/login"
    assert browser.get("/_sesame/").status == 303


def test_too_many_failed_logins_are_throttled(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_sesame(tmp_path_factory.mktemp("throttled"), ui_login="always")
    try:
        browser = InboxClient(server.url)
        token = browser.get("/_sesame/login").csrf()
        statuses = [
            browser.post("/_sesame/login", {"csrf": token, "secret": "guess"}).status
            for _ in range(11)
        ]
        assert statuses == [401] * 10 + [429]
        right = {"csrf": token, "access_key_id": ACCESS_KEY_ID, "secret": SECRET_ACCESS_KEY}
        assert browser.post("/_sesame/login", right).status == 429
    finally:
        server.stop()


# --- CSRF on every action --------------------------------------------------------------------


def test_delete_needs_the_form_token(inbox_server: RunningSesame) -> None:
    message_id = send(inbox_server)
    browser = InboxClient(inbox_server.url)
    token = browser.get(f"/_sesame/messages/{message_id}").csrf()
    path = f"/_sesame/messages/{message_id}/delete"
    assert browser.post(path, {}).status == 403
    assert browser.post(path, {"csrf": token + "x"}).status == 403
    # Another browser (another session) cannot use this one's token.
    assert InboxClient(inbox_server.url).post(path, {"csrf": token}).status == 403
    # The right token from another site's page is refused too.
    assert browser.post(path, {"csrf": token}, Origin="http://evil.example").status == 403
    assert inbox_server.app.store.get_message(message_id) is not None
    answer = browser.post(path, {"csrf": token}, Origin=inbox_server.url)
    assert answer.status == 303 and answer.headers["Location"] == "/_sesame/"
    assert inbox_server.app.store.get_message(message_id) is None
    assert browser.get(f"/_sesame/messages/{message_id}").status == 404


def test_clearing_the_mailbox_needs_the_form_token(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = start_sesame(tmp_path_factory.mktemp("clear"))
    try:
        send(server, "one")
        send(server, "two")
        browser = InboxClient(server.url)
        token = browser.get("/_sesame/").csrf()
        assert browser.post("/_sesame/clear", {}).status == 403
        assert len(server.app.store.list_messages()) == 2
        assert browser.post("/_sesame/clear", {"csrf": token}).status == 303
        assert server.app.store.list_messages() == []
        assert "No mail yet" in browser.get("/_sesame/").text
    finally:
        server.stop()


def test_actions_need_a_login_first(guarded: RunningSesame) -> None:
    message_id = send(guarded)
    browser = InboxClient(guarded.url)
    token = browser.get("/_sesame/login").csrf()
    answer = browser.post(f"/_sesame/messages/{message_id}/delete", {"csrf": token})
    assert answer.status == 403
    assert guarded.app.store.get_message(message_id) is not None
