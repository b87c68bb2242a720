"""mail/mime.py: what we build, read and rewrite, checked as a mail client sees it.

Every built message is parsed back with the stdlib parser under `policy.default`
(what a client does) and compared with what went in; two goldens pin the exact
bytes of a Simple build.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest

from sesame.mail import mime

MID = "0102018c4767ca7e-4b9f787e-7377-4e28-9741-83ab63157da1-000000"
NOW = datetime(2023, 12, 8, 12, 0, 0, tzinfo=UTC)
DOMAIN = "eu-west-1.amazonses.com"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
EVERY_BYTE = bytes(range(256)) + b"\r\n\n\r\r\n\x00\xff" * 40


def build(
    simple: dict[str, Any],
    *,
    from_address: str = "sender@example.com",
    to: Sequence[str] = ("to@example.com",),
    cc: Sequence[str] = (),
    reply_to: Sequence[str] = (),
    date: datetime = NOW,
) -> EmailMessage:
    return mime.build_simple(
        simple,
        from_address=from_address,
        to=list(to),
        cc=list(cc),
        reply_to=list(reply_to),
        message_id=MID,
        mail_domain=DOMAIN,
        date=date,
    )


def content(
    text: str | None = None,
    html: str | None = None,
    *,
    subject: str = "Hello",
    charset: str | None = None,
    attachments: Sequence[dict[str, Any]] = (),
    headers: Sequence[dict[str, str]] = (),
) -> dict[str, Any]:
    """A `Content.Simple` member as the API hands it over."""

    def member(data: str) -> dict[str, str]:
        return {"Data": data} if charset is None else {"Data": data, "Charset": charset}

    body: dict[str, Any] = {}
    if text is not None:
        body["Text"] = member(text)
    if html is not None:
        body["Html"] = member(html)
    simple: dict[str, Any] = {"Subject": member(subject), "Body": body}
    if attachments:
        simple["Attachments"] = list(attachments)
    if headers:
        simple["Headers"] = list(headers)
    return simple


def seen(message: EmailMessage) -> EmailMessage:
    """The message as a mail client gets it."""
    return BytesParser(EmailMessage, policy=policy.default).parsebytes(message.as_bytes())


def shape(part: Any) -> Any:
    if part.get_content_maintype() == "multipart":
        return (part.get_content_type(), [shape(child) for child in part.iter_parts()])
    return part.get_content_type()


def leaves(message: EmailMessage) -> list[bytes]:
    """Every non-multipart part, serialized on its own, in walk order."""
    return [mime.to_bytes(part) for part in message.walk() if not part.is_multipart()]


def wire_lines(data: bytes) -> list[bytes]:
    """The lines of `data`, which must all end in CRLF, but Message-ID's: SES writes that
    one unfolded (98 octets for its own ids), so line-length checks leave it out."""
    assert b"\n" not in data.replace(b"\r\n", b""), "every line ends in CRLF"
    return [line for line in data.split(b"\r\n") if not line.startswith(b"Message-ID:")]


def shown(part: Any) -> str:
    """A text part's content with the line ends a client shows (CRLF read as LF)."""
    return str(part.get_content()).replace("\r\n", "\n")


def attachment(name: str = "report.pdf", data: bytes = b"%PDF-1.4", **more: str) -> dict[str, Any]:
    return {"RawContent": data, "FileName": name, **more}


LOGO = attachment(
    "logo.png", PNG, ContentType="image/png", ContentDisposition="INLINE", ContentId="logo"
)
PDF = attachment(ContentType="application/pdf")

# --- message ids -------------------------------------------------------------------------

MESSAGE_ID = re.compile(
    r"[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-000000"
)


@pytest.mark.parametrize(("region", "prefix"), sorted(mime.REGION_PREFIXES.items()))
def test_message_id_starts_with_the_region_prefix(region: str, prefix: str) -> None:
    message_id = mime.new_message_id(NOW, region)
    assert MESSAGE_ID.fullmatch(message_id)
    assert message_id[:4] == prefix


def test_the_prefixes_the_brief_lists() -> None:
    assert {
        region: mime.region_prefix(region)
        for region in ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1")
    } == {"us-east-1": "0100", "us-west-2": "0101", "eu-west-1": "0102", "ap-northeast-1": "0106"}
    assert mime.region_prefix("eu-central-1") == "0107"
    assert mime.region_prefix("ap-southeast-2") == "0108"
    assert mime.region_prefix("ap-south-1") == "0109"


@pytest.mark.parametrize("region", ["me-south-1", "af-south-1", "il-central-1", "local", ""])
def test_other_regions_get_a_stable_prefix_ses_does_not_use(region: str) -> None:
    prefix = mime.region_prefix(region)
    assert prefix == mime.region_prefix(region)
    assert 0x0180 <= int(prefix, 16) <= 0x01FF
    assert prefix not in mime.REGION_PREFIXES.values()
    assert mime.new_message_id(NOW, region)[:4] == prefix


@pytest.mark.parametrize(
    ("now", "region", "first16"),
    [
        # Ids quoted in ses-spec.md §5.4 with the times they encode.
        (datetime(2022, 9, 3, 4, 11, 36, 93000, tzinfo=UTC), "ap-south-1", "01090183018c011d"),
        (datetime(2023, 12, 8, 3, 10, 33, 598000, tzinfo=UTC), "eu-west-1", "0102018c4767ca7e"),
        (datetime(1970, 1, 1, tzinfo=UTC), "us-east-1", "0100000000000000"),
        # A time in another zone is the same instant.
        (
            datetime(2023, 12, 8, 4, 10, 33, 598000, tzinfo=timezone(timedelta(hours=1))),
            "eu-west-1",
            "0102018c4767ca7e",
        ),
        # Sub-millisecond digits are dropped, not rounded.
        (datetime(2023, 12, 8, 3, 10, 33, 598999, tzinfo=UTC), "eu-west-1", "0102018c4767ca7e"),
    ],
)
def test_message_id_encodes_epoch_milliseconds(now: datetime, region: str, first16: str) -> None:
    message_id = mime.new_message_id(now, region)
    assert message_id[:16] == first16
    millis = int(message_id[4:16], 16)
    assert datetime.fromtimestamp(millis / 1000, UTC) == now.replace(
        microsecond=now.microsecond // 1000 * 1000
    ).astimezone(UTC)


def test_message_id_carries_a_fresh_uuid4() -> None:
    ids = {mime.new_message_id(NOW, "us-east-1") for _ in range(200)}
    assert len(ids) == 200
    for message_id in ids:
        assert uuid.UUID(message_id[17:53]).version == 4
        assert message_id.endswith("-000000")


@pytest.mark.parametrize("now", [datetime(2023, 1, 1), datetime(1969, 12, 31, tzinfo=UTC)])
def test_message_id_refuses_times_it_cannot_encode(now: datetime) -> None:
    with pytest.raises(ValueError):
        mime.new_message_id(now, "us-east-1")


# --- Simple: structure -------------------------------------------------------------------

STRUCTURES: list[tuple[str, dict[str, Any], Any]] = [
    ("text only", content("hi"), "text/plain"),
    ("html only", content(html="<p>hi</p>"), "text/html"),
    (
        "text and html",
        content("hi", "<p>hi</p>"),
        ("multipart/alternative", ["text/plain", "text/html"]),
    ),
    (
        "text and attachment",
        content("hi", attachments=[PDF]),
        ("multipart/mixed", ["text/plain", "application/pdf"]),
    ),
    (
        "both and attachment",
        content("hi", "<p>hi</p>", attachments=[PDF]),
        (
            "multipart/mixed",
            [("multipart/alternative", ["text/plain", "text/html"]), "application/pdf"],
        ),
    ),
    (
        "html with an inline image",
        content(html="<img src='cid:logo'>", attachments=[LOGO]),
        ("multipart/related", ["text/html", "image/png"]),
    ),
    (
        "everything",
        content("hi", "<img src='cid:logo'>", attachments=[LOGO, PDF]),
        (
            "multipart/mixed",
            [
                (
                    "multipart/alternative",
                    ["text/plain", ("multipart/related", ["text/html", "image/png"])],
                ),
                "application/pdf",
            ],
        ),
    ),
    (
        "inline image but no html",
        content("hi", attachments=[LOGO]),
        ("multipart/mixed", ["text/plain", "image/png"]),
    ),
    (
        "inline without a content id",
        content(
            html="<p>hi</p>",
            attachments=[
                attachment("a.png", PNG, ContentType="image/png", ContentDisposition="INLINE")
            ],
        ),
        ("multipart/mixed", ["text/html", "image/png"]),
    ),
    (
        "content id but attachment disposition",
        content(
            html="<p>hi</p>",
            attachments=[attachment("a.png", PNG, ContentType="image/png", ContentId="a")],
        ),
        ("multipart/mixed", ["text/html", "image/png"]),
    ),
    (
        "attachments only",
        content(attachments=[PDF, PDF]),
        ("multipart/mixed", ["application/pdf", "application/pdf"]),
    ),
]


@pytest.mark.parametrize(
    ("simple", "expected"), [c[1:] for c in STRUCTURES], ids=[c[0] for c in STRUCTURES]
)
def test_structure_is_the_one_ses_builds(simple: dict[str, Any], expected: Any) -> None:
    message = build(simple)
    assert shape(message) == expected
    client = seen(message)
    assert shape(client) == expected
    assert client.defects == []
    assert all(part.defects == [] for part in client.walk())


@pytest.mark.parametrize("simple", [c[1] for c in STRUCTURES], ids=[c[0] for c in STRUCTURES])
def test_every_build_is_7bit_clean_crlf_and_short_lined(simple: dict[str, Any]) -> None:
    data = build(simple).as_bytes()
    assert data.isascii()
    assert max(len(line) for line in wire_lines(data)) <= 998


def test_a_client_finds_the_bodies_and_the_attachments() -> None:
    client = seen(
        build(content("plain words", "<p>html <img src='cid:logo'></p>", attachments=[LOGO, PDF]))
    )
    assert shown(client.get_body(("plain",))) == "plain words\n"
    assert shown(client.get_body(("html",))) == "<p>html <img src='cid:logo'></p>\n"
    related = client.get_body(("related",))
    assert related["Content-Type"].params == {
        "type": "text/html",
        "boundary": related.get_boundary(),
    }
    image = [part for part in related.iter_parts() if part.get_content_type() == "image/png"][0]
    assert image["Content-ID"] == "<logo>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == PNG
    listed = list(client.iter_attachments())
    assert [part.get_filename() for part in listed] == ["report.pdf"]


def test_boundaries_are_reproducible_and_distinct() -> None:
    simple = content("hi", "<img src='cid:logo'>", attachments=[LOGO, PDF])
    first, second = build(simple), build(simple)
    assert first.as_bytes() == second.as_bytes()
    boundaries = [part.get_boundary() for part in first.walk() if part.is_multipart()]
    assert len(set(boundaries)) == 3
    assert all(b is not None and len(b) <= 70 for b in boundaries)


def test_a_boundary_never_collides_with_the_text() -> None:
    plain = build(content("hi", "<p>hi</p>")).get_boundary()
    assert plain is not None
    trap = f"--{plain}\nnot a boundary\n--{plain}--\n"
    message = build(content(trap, "<p>hi</p>"))
    assert message.get_boundary() != plain
    assert shown(seen(message).get_body(("plain",))) == trap


def test_empty_content_is_refused() -> None:
    with pytest.raises(ValueError, match="text body, an HTML body or an attachment"):
        build(content())


def test_deep_copy_keeps_the_bytes() -> None:
    message = build(
        content("hi", headers=[{"Name": "X-A", "Value": "b"}], subject="Ça", charset="ISO-8859-1")
    )
    assert copy.deepcopy(message).as_bytes() == message.as_bytes()


# --- Simple: goldens ---------------------------------------------------------------------

GOLDEN_TEXT = (
    "Message-ID: <0102018c4767ca7e-4b9f787e-7377-4e28-9741-83ab63157da1-000000"
    "@eu-west-1.amazonses.com>\r\n"
    "Date: Fri, 08 Dec 2023 12:00:00 +0000\r\n"
    "From: Sender <sender@example.com>\r\n"
    "To: to@example.com\r\n"
    "Cc: Cc Person <cc@example.com>\r\n"
    "Reply-To: reply@example.com\r\n"
    "Subject: Hello\r\n"
    "X-Campaign: spring\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: text/plain; charset="UTF-8"\r\n'
    "Content-Transfer-Encoding: 7bit\r\n"
    "\r\n"
    "Hi there,\r\n"
    "bye.\r\n"
)

GOLDEN_MIXED = (
    "Message-ID: <0102018c4767ca7e-4b9f787e-7377-4e28-9741-83ab63157da1-000000"
    "@eu-west-1.amazonses.com>\r\n"
    "Date: Fri, 08 Dec 2023 12:00:00 +0000\r\n"
    "From: =?utf-8?q?J=C3=B6rg?= <jorg@example.com>\r\n"
    "To: to@example.com\r\n"
    "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed;\r\n"
    ' boundary="----=_Part_2_8e26d8a50379fd621ca7ef1e"\r\n'
    "\r\n"
    "------=_Part_2_8e26d8a50379fd621ca7ef1e\r\n"
    "Content-Type: multipart/alternative;\r\n"
    ' boundary="----=_Part_1_d7dc77bbb2ef2c8a6f2eaf0a"\r\n'
    "\r\n"
    "------=_Part_1_d7dc77bbb2ef2c8a6f2eaf0a\r\n"
    'Content-Type: text/plain; charset="UTF-8"\r\n'
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "R3LDvMOfZQ0K\r\n"
    "\r\n"
    "------=_Part_1_d7dc77bbb2ef2c8a6f2eaf0a\r\n"
    'Content-Type: multipart/related; type="text/html";\r\n'
    ' boundary="----=_Part_0_636d39054a73a55aba898225"\r\n'
    "\r\n"
    "------=_Part_0_636d39054a73a55aba898225\r\n"
    'Content-Type: text/html; charset="UTF-8"\r\n'
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    '<p>Gr=C3=BC=C3=9Fe <img src=3D"cid:logo"></p>\r\n'
    "\r\n"
    "------=_Part_0_636d39054a73a55aba898225\r\n"
    'Content-Type: image/gif; name="logo.gif"\r\n'
    "Content-Transfer-Encoding: base64\r\n"
    'Content-Disposition: inline; filename="logo.gif"\r\n'
    "Content-ID: <logo>\r\n"
    "\r\n"
    "R0lGODlhAQA=\r\n"
    "\r\n"
    "------=_Part_0_636d39054a73a55aba898225--\r\n"
    "\r\n"
    "------=_Part_1_d7dc77bbb2ef2c8a6f2eaf0a--\r\n"
    "\r\n"
    "------=_Part_2_8e26d8a50379fd621ca7ef1e\r\n"
    "Content-Type: application/pdf; name*=utf-8''%C3%9Cberblick.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename*=utf-8''%C3%9Cberblick.pdf\r\n"
    "\r\n"
    "JVBERi0xLjQK4uM=\r\n"
    "\r\n"
    "------=_Part_2_8e26d8a50379fd621ca7ef1e--\r\n"
)


def test_golden_text_only() -> None:
    message = build(
        content("Hi there,\nbye.", headers=[{"Name": "X-Campaign", "Value": "spring"}]),
        from_address="Sender <sender@example.com>",
        cc=["Cc Person <cc@example.com>"],
        reply_to=["reply@example.com"],
        # Not UTC: SES writes the Date in UTC.
        date=datetime(2023, 12, 8, 13, 0, 0, tzinfo=timezone(timedelta(hours=1))),
    )
    assert message.as_bytes().decode("ascii") == GOLDEN_TEXT


def test_golden_mixed_related_alternative() -> None:
    gif = attachment(
        "logo.gif",
        b"GIF89a\x01\x00",
        ContentType="image/gif",
        ContentDisposition="INLINE",
        ContentId="logo",
    )
    pdf = attachment("Überblick.pdf", b"%PDF-1.4\n\xe2\xe3", ContentType="application/pdf")
    simple = content(
        "Grüße\n", '<p>Grüße <img src="cid:logo"></p>\n', subject="Grüße", attachments=[gif, pdf]
    )
    message = build(simple, from_address="Jörg <jorg@example.com>")
    assert message.as_bytes().decode("ascii") == GOLDEN_MIXED
    client = seen(message)
    assert client["Subject"] == "Grüße"
    assert str(client["From"]) == "Jörg <jorg@example.com>"
    assert [p.get_filename() for p in client.iter_attachments()] == ["Überblick.pdf"]


# --- Simple: headers ---------------------------------------------------------------------


def test_header_order_and_no_bcc() -> None:
    message = build(
        content("hi", headers=[{"Name": "X-One", "Value": "1"}]),
        cc=["cc@example.com"],
        reply_to=["r@example.com"],
    )
    assert list(message.keys()) == [
        "Message-ID",
        "Date",
        "From",
        "To",
        "Cc",
        "Reply-To",
        "Subject",
        "X-One",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
    ]
    assert b"bcc" not in message.as_bytes().lower()


def test_empty_recipient_lists_leave_their_headers_out() -> None:
    message = build(content("hi"), to=[])
    assert "To" not in message and "Cc" not in message and "Reply-To" not in message


def test_message_id_and_date_headers() -> None:
    data = build(content("hi")).as_bytes()
    assert f"\r\nMessage-ID: <{MID}@{DOMAIN}>\r\n".encode() in b"\r\n" + data
    assert b"\r\nDate: Fri, 08 Dec 2023 12:00:00 +0000\r\n" in data
    assert seen(build(content("hi")))["Date"].datetime == NOW


SUBJECTS = [
    ("ascii", "Your order has shipped", None, None),
    ("utf-8 default", "Grüße aus Köln", None, "=?utf-8?"),
    ("utf-8 named", "Grüße aus Köln", "UTF-8", "=?utf-8?"),
    ("latin-1", "Ça coûte 10 €uro", "UTF-8", "=?utf-8?"),
    ("iso-8859-1", "Ça va très bien", "ISO-8859-1", "=?ISO-8859-1?B?"),
    (
        "shift_jis",
        "日本語の件名です。とても長い件名になるように文字を足していきます。",
        "Shift_JIS",
        "=?Shift_JIS?B?",
    ),
    ("iso-2022-jp", "お知らせ：新しいメッセージがあります", "ISO-2022-JP", "=?ISO-2022-JP?B?"),
    ("emoji", "Sale 🎉 " * 12, None, "=?utf-8?"),
    ("pre-encoded", "=?UTF-8?B?R3LDvMOfZQ==?=", None, None),
]


@pytest.mark.parametrize(
    ("subject", "charset", "marker"), [s[1:] for s in SUBJECTS], ids=[s[0] for s in SUBJECTS]
)
def test_subject_is_encoded_and_a_client_decodes_it(
    subject: str, charset: str | None, marker: str | None
) -> None:
    simple = content("hi", subject=subject)
    if charset is not None:
        simple["Subject"]["Charset"] = charset
    data = build(simple).as_bytes()
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert max(len(line) for line in wire_lines(head)) <= 78
    if marker is not None:
        assert marker.encode() in head
    expected = "Grüße" if subject.startswith("=?") else subject
    assert seen(build(simple))["Subject"] == expected


def test_subject_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="line breaks"):
        build(content("hi", subject="one\r\ntwo"))


def test_subject_a_charset_cannot_encode_is_refused() -> None:
    with pytest.raises(ValueError, match="ISO-8859-1"):
        build(content("hi", subject="日本", charset="ISO-8859-1"))


ADDRESSES = [
    ("plain", "a@example.com", "a@example.com"),
    ("ascii name", "Ann Smith <ann@example.com>", "Ann Smith <ann@example.com>"),
    ("quoted name", '"Smith, Ann" <ann@example.com>', '"Smith, Ann" <ann@example.com>'),
    ("accented name", "José Müller <jose@example.com>", "José Müller <jose@example.com>"),
    ("cjk name", "山田太郎 <yamada@example.jp>", "山田太郎 <yamada@example.jp>"),
    ("encoded name", "=?utf-8?q?Jos=C3=A9?= <jose@example.com>", "José <jose@example.com>"),
    ("idn domain", "Ann <ann@bücher.example>", "Ann <ann@xn--bcher-kva.example>"),
]


@pytest.mark.parametrize(
    ("given", "displayed"), [a[1:] for a in ADDRESSES], ids=[a[0] for a in ADDRESSES]
)
def test_display_names_are_encoded_and_read_back(given: str, displayed: str) -> None:
    message = build(content("hi"), from_address=given, to=[given], cc=[given], reply_to=[given])
    head = message.as_bytes().split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    client = seen(message)
    for field in ("From", "To", "Cc", "Reply-To"):
        assert str(client[field]) == displayed


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("", "expected one"),
        ("not-an-address", "expected one"),
        ("a@example.com, b@example.com", "expected one"),
        ("a@example.com\r\nBcc: x@example.com", "line break"),
        ("jöse@example.com", "SMTPUTF8"),
    ],
)
def test_bad_addresses_are_refused(given: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build(content("hi"), to=[given])
    with pytest.raises(ValueError, match=problem):
        build(content("hi"), from_address=given)


# --- Simple: charsets, transfer encodings, long lines ------------------------------------

BODIES = [
    # id, text, charset, transfer encoding expected
    ("ascii", "Hello,\nworld.\n", None, "7bit"),
    ("ascii 998", "x" * 998, None, "7bit"),
    ("ascii 999", "x" * 999, None, "quoted-printable"),
    ("ascii 5000", "word " * 1000, None, "quoted-printable"),
    ("utf-8 french", "Le café est très bon.\n" * 3, None, "quoted-printable"),
    ("utf-8 japanese", "こんにちは世界\n" * 3, "UTF-8", "base64"),
    ("iso-8859-1", "Le café est très bon.\n", "ISO-8859-1", "quoted-printable"),
    ("shift_jis", "こんにちは世界\n" * 3, "Shift_JIS", "base64"),
    ("iso-2022-jp", "こんにちは世界\n", "ISO-2022-JP", "7bit"),
    ("long non-ascii line", "é" * 3000, None, "base64"),
    ("crlf input", "one\r\ntwo\r\n", None, "7bit"),
]


@pytest.mark.parametrize(
    ("text", "charset", "cte"), [b[1:] for b in BODIES], ids=[b[0] for b in BODIES]
)
@pytest.mark.parametrize("subtype", ["plain", "html"])
def test_body_charset_and_transfer_encoding(
    text: str, charset: str | None, cte: str, subtype: str
) -> None:
    simple = (
        content(text, charset=charset)
        if subtype == "plain"
        else content(html=text, charset=charset)
    )
    message = build(simple)
    data = message.as_bytes()
    lines = wire_lines(data)
    assert data.isascii()
    assert max(len(line) for line in lines) <= (998 if cte == "7bit" else 76)
    client = seen(message)
    assert client.get_content_type() == f"text/{subtype}"
    assert client["Content-Transfer-Encoding"] == cte
    assert client.get_param("charset") == (charset or "UTF-8")
    expected = text.replace("\r\n", "\n")
    assert shown(client) == (expected if expected.endswith("\n") else expected + "\n")


@pytest.mark.parametrize(
    ("text", "charset", "problem"),
    [
        ("日本", "ISO-8859-1", "cannot encode"),
        ("hi", "no-such-charset", "Unsupported charset"),
        ("hi", "base64", "Unsupported charset"),
        ("hi", "UTF-16", "not ASCII based"),
    ],
)
def test_bad_body_charsets_are_refused(text: str, charset: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build(content(text, charset=charset))


# --- Simple: attachments -----------------------------------------------------------------


@pytest.mark.parametrize("cte", [None, "BASE64", "QUOTED_PRINTABLE"])
@pytest.mark.parametrize("data", [EVERY_BYTE, b"", b"\r\n", b"no newline at the end", PNG])
def test_attachment_bytes_survive_a_round_trip(data: bytes, cte: str | None) -> None:
    spec = (
        attachment("blob.bin", data)
        if cte is None
        else attachment("blob.bin", data, ContentTransferEncoding=cte)
    )
    message = build(content("hi", attachments=[spec]))
    assert max(len(line) for line in wire_lines(message.as_bytes())) <= 76
    (part,) = seen(message).iter_attachments()
    assert (
        part["Content-Transfer-Encoding"]
        == {None: "base64", "BASE64": "base64", "QUOTED_PRINTABLE": "quoted-printable"}[cte]
    )
    assert part.get_content() == data


def test_seven_bit_attachments_carry_ascii_text() -> None:
    spec = attachment(
        "notes.txt",
        b"line one\r\nline two\r\n",
        ContentType="text/plain; charset=us-ascii",
        ContentTransferEncoding="SEVEN_BIT",
    )
    (part,) = seen(build(content("hi", attachments=[spec]))).iter_attachments()
    assert part["Content-Transfer-Encoding"] == "7bit"
    assert part.get_content() == "line one\r\nline two\r\n"  # 7bit text: CRLF on the wire
    assert part.get_param("charset") == "us-ascii"


@pytest.mark.parametrize("data", [b"caf\xe9", b"x" * 999, b"nul\x00"])
def test_seven_bit_attachments_must_be_seven_bit(data: bytes) -> None:
    with pytest.raises(ValueError, match="SEVEN_BIT"):
        build(
            content(
                "hi", attachments=[attachment("a.txt", data, ContentTransferEncoding="SEVEN_BIT")]
            )
        )


def test_attachment_defaults_and_metadata() -> None:
    spec = attachment("Überblick 2024.pdf", b"%PDF", ContentDescription="Der Überblick")
    (part,) = seen(build(content("hi", attachments=[spec]))).iter_attachments()
    assert part.get_content_type() == "application/octet-stream"
    assert part.get_content_disposition() == "attachment"
    assert part.get_filename() == "Überblick 2024.pdf"
    assert part.get_param("name") == "Überblick 2024.pdf"
    assert part["Content-Description"] == "Der Überblick"
    assert "Content-ID" not in part


@pytest.mark.parametrize("given", ["logo", "<logo>", " <logo> "])
def test_content_ids_are_written_in_angle_brackets(given: str) -> None:
    spec = attachment(
        "logo.png", PNG, ContentType="image/png", ContentDisposition="INLINE", ContentId=given
    )
    client = seen(build(content(html="<img src='cid:logo'>", attachments=[spec])))
    (image,) = [part for part in client.walk() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<logo>"


@pytest.mark.parametrize("content_type", ["multipart/mixed", "pdf", "application/"])
def test_bad_attachment_types_are_refused(content_type: str) -> None:
    with pytest.raises(ValueError, match="content type|cannot be of type"):
        build(content("hi", attachments=[attachment(ContentType=content_type)]))


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (attachment(""), "needs a FileName"),
        (attachment("a\r\nb.pdf"), "FileName of attachment"),
        (attachment(ContentId="a\nb"), "ContentId of attachment"),
        (attachment(ContentDescription="two\nlines"), "ContentDescription of attachment"),
        (attachment(ContentDisposition="HIDDEN"), "disposition or transfer encoding"),
        (attachment(ContentTransferEncoding="UUENCODE"), "disposition or transfer encoding"),
    ],
)
def test_bad_attachment_members_are_refused(spec: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build(content("hi", attachments=[spec]))


# --- Simple: custom headers --------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    sorted(mime.FORBIDDEN_HEADERS) + ["FROM", "Message-Id", "mime-version", "Bcc", "Content-type"],
)
def test_headers_ses_sets_cannot_be_custom(name: str) -> None:
    with pytest.raises(ValueError, match=f"Header <{re.escape(name)}> cannot be set"):
        build(content("hi", headers=[{"Name": name, "Value": "x"}]))


def test_documented_forbidden_list_is_covered() -> None:
    documented = {
        "bcc",
        "cc",
        "content-disposition",
        "content-type",
        "date",
        "from",
        "message-id",
        "mime-version",
        "reply-to",
        "return-path",
        "subject",
        "to",
    }
    assert documented <= mime.FORBIDDEN_HEADERS


def test_custom_headers_go_out_verbatim() -> None:
    unsubscribe = (
        "<https://example.com/unsubscribe/"
        + "a" * 90
        + "?u=1&t=2>, <mailto:unsub@example.com?subject=x>"
    )
    headers = [
        {"Name": "List-Unsubscribe", "Value": unsubscribe},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
        {"Name": "X-Note", "Value": "=?utf-8?q?not_decoded?="},
        {"Name": "X-Repeat", "Value": "1"},
        {"Name": "X-Repeat", "Value": "2"},
        {"Name": "X-Spaces", "Value": "a  b   " + "c " * 60},
    ]
    message = build(content("hi", headers=headers))
    data = message.as_bytes()
    assert b"=?utf-8?q?=3C" not in data  # the stdlib would have encoded the URL
    listed = dict(
        (h["name"], h["value"]) for h in mime.header_list(message)[0] if h["name"] != "X-Repeat"
    )
    for header in headers:
        if header["Name"] != "X-Repeat":
            assert listed[header["Name"]] == header["Value"]
    client = seen(message)
    assert client["List-Unsubscribe"] == unsubscribe
    assert client.get_all("X-Repeat") == ["1", "2"]
    assert client["X-Spaces"] == headers[-1]["Value"]


def test_long_custom_headers_fold_at_spaces() -> None:
    value = "word " * 60 + "end "
    message = build(content("hi", headers=[{"Name": "X-Words", "Value": value}]))
    head = message.as_bytes().split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b"X-Words:"))
    folded = [lines[start]] + [line for line in lines[start + 1 :] if line.startswith(b" ")]
    assert len(folded) > 1
    assert all(len(line) <= 76 and line.strip() for line in folded)
    assert seen(message)["X-Words"] == value


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        (
            [
                {"Name": "List-Unsubscribe", "Value": "<a>"},
                {"Name": "list-unsubscribe", "Value": "<b>"},
            ],
            "Duplicate header 'list-unsubscribe'.",
        ),
        ([{"Name": "X-Bad:Name", "Value": "v"}], "Invalid header name"),
        ([{"Name": "X-Bad Name", "Value": "v"}], "Invalid header name"),
        ([{"Name": "X-Inject", "Value": "a\r\nBcc: x@example.com"}], "Invalid value"),
        ([{"Name": "X-Accent", "Value": "café"}], "Invalid value"),
        ([{"Name": "X-Long", "Value": "v" * 995}], "Invalid value"),
    ],
)
def test_bad_custom_headers_are_refused(headers: list[dict[str, str]], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        build(content("hi", headers=headers))


# --- Raw: parsing ------------------------------------------------------------------------


def raw(*headers: str, body: str = "Hello\r\n") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


SIMPLE_RAW = raw("From: a@example.com", "To: b@example.com", "Subject: hi", "MIME-Version: 1.0")

ONE_LEVEL = (
    b"From: a@example.com\r\n"
    b"To: b@example.com\r\n"
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
    # Longer than 76 octets and folded with a tab: it must go out exactly so.
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1;"
    b" h=from:to:subject;\r\n"
    b"\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"
    b" b=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBhdCBhbGwK\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n'
    b"\r\n"
    b"This is a multi-part message in MIME format.\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Gr\xc3\xbc\xc3\x9fe\r\n"
    b"--b1\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>hi</p>\r\n"
    b"--b1--\r\n"
)


@pytest.mark.parametrize("data", [SIMPLE_RAW, ONE_LEVEL, ONE_LEVEL.replace(b"\r\n", b"\n")])
def test_raw_goes_out_as_it_came(data: bytes) -> None:
    message = mime.parse_raw(data)
    assert message.as_bytes() == data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert mime.to_bytes(message) == message.as_bytes()


def test_raw_with_8bit_headers_keeps_the_octets() -> None:
    data = b"From: J\xc3\xb6rg <j@example.com>\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nhi\r\n"
    message = mime.parse_raw(data)
    assert message.as_bytes() == data
    assert mime.common_headers(message)["subject"] == "Grüße"
    assert mime.common_headers(message)["from"] == ["Jörg <j@example.com>"]


BAD_RAW = [
    ("empty", b"", "empty"),
    ("blank", b"  \r\n\r\n", "empty"),
    ("body only", b"\r\nJust a body\r\n", "no header section"),
    ("no separator", b"Subject: hi\r\nHello there\r\n", "not a header"),
    ("empty header name", b"Subject: hi\r\n: value\r\n\r\nbody", "Empty header names are illegal."),
    ("leading continuation", b" folded: x\r\nSubject: hi\r\n\r\nbody", "continuation"),
    (
        "duplicate from",
        raw("From: a@example.com", "From: b@example.com"),
        "Duplicate header 'From'.",
    ),
    (
        "duplicate message-id",
        raw("Message-ID: <a@x>", "Message-Id: <b@x>"),
        "Duplicate header 'Message-Id'.",
    ),
    (
        "duplicate dkim",
        raw("DKIM-Signature: a", "DKIM-Signature: b"),
        "Duplicate header 'DKIM-Signature'.",
    ),
    (
        "duplicate content-type",
        raw("Content-Type: text/plain", "content-type: text/html"),
        "Duplicate header 'content-type'.",
    ),
    ("multipart without boundary", raw("Content-Type: multipart/mixed"), "boundary"),
    ("boundary never found", raw('Content-Type: multipart/mixed; boundary="zz"'), "boundary"),
]


@pytest.mark.parametrize(("data", "problem"), [b[1:] for b in BAD_RAW], ids=[b[0] for b in BAD_RAW])
def test_raw_that_ses_would_refuse(data: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        mime.parse_raw(data)


def test_nested_multipart_reads_back_the_same() -> None:
    # The stdlib generator writes a blank line after a nested part's close
    # delimiter where the source had none; every part still reads back the same.
    message = mime.parse_raw(MIXED)
    again = mime.parse_raw(message.as_bytes())
    assert leaves(again) == leaves(message)
    assert message.as_bytes() == MIXED.replace(b"--alt--\r\n", b"--alt--\r\n\r\n")


def test_headers_that_may_repeat_do() -> None:
    message = mime.parse_raw(
        raw("Received: one", "Received: two", "X-A: 1", "X-A: 2", "From: a@example.com")
    )
    assert message.get_all("Received") == ["one", "two"]


# --- Raw: X-SES headers ------------------------------------------------------------------

SES_HEADERS = [
    ("none", [], None, []),
    ("set", ["X-SES-CONFIGURATION-SET: my-set"], "my-set", []),
    (
        "tags",
        ["X-SES-MESSAGE-TAGS: campaign=spring, variant=b"],
        None,
        [("campaign", "spring"), ("variant", "b")],
    ),
    (
        "both, odd case and spacing",
        ["x-ses-configuration-set:   my-set  ", "X-Ses-Message-Tags:a=1,b = 2 ,"],
        "my-set",
        [("a", "1"), ("b", "2")],
    ),
    (
        "two tag headers",
        ["X-SES-MESSAGE-TAGS: a=1", "X-SES-MESSAGE-TAGS: b=2"],
        None,
        [("a", "1"), ("b", "2")],
    ),
    ("empty value", ["X-SES-MESSAGE-TAGS: a=", "X-SES-CONFIGURATION-SET: "], None, [("a", "")]),
    ("value with =", ["X-SES-MESSAGE-TAGS: a=b=c"], None, [("a", "b=c")]),
]


@pytest.mark.parametrize(
    ("lines", "expected_set", "expected_tags"),
    [s[1:] for s in SES_HEADERS],
    ids=[s[0] for s in SES_HEADERS],
)
def test_ses_headers_are_read_and_removed(
    lines: list[str], expected_set: str | None, expected_tags: list[tuple[str, str]]
) -> None:
    message = mime.parse_raw(raw("From: a@example.com", *lines, "To: b@example.com"))
    assert mime.ses_headers(message) == (expected_set, expected_tags)
    assert message.as_bytes() == raw("From: a@example.com", "To: b@example.com")
    assert mime.ses_headers(message) == (None, [])


def test_a_tag_without_a_value_is_refused() -> None:
    message = mime.parse_raw(raw("X-SES-MESSAGE-TAGS: a=1, broken", "From: a@example.com"))
    with pytest.raises(ValueError, match="broken"):
        mime.ses_headers(message)


# --- Raw: SES's own headers --------------------------------------------------------------


def test_ensure_headers_overrides_message_id_and_date_in_place() -> None:
    data = raw(
        "DKIM-Signature: v=1; d=example.com;\r\n\tb=abc",
        "Message-ID: <mine@example.com>",
        "Date: Mon, 1 Jan 2001 00:00:00 -0500",
        "From: a@example.com",
        "Bcc: hidden@example.com",
        "MIME-Version: 1.0",
    )
    message = mime.parse_raw(data)
    later = datetime(2024, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=-8)))
    mime.ensure_headers(message, message_id=MID, mail_domain=DOMAIN, date=later)
    assert message.as_bytes() == raw(
        "DKIM-Signature: v=1; d=example.com;\r\n\tb=abc",
        f"Message-ID: <{MID}@{DOMAIN}>",
        "Date: Sat, 03 Feb 2024 12:05:06 +0000",
        "From: a@example.com",
        "MIME-Version: 1.0",
    )


def test_ensure_headers_adds_what_is_missing() -> None:
    message = mime.parse_raw(raw("From: a@example.com", "Subject: hi"))
    mime.ensure_headers(message, message_id=MID, mail_domain=DOMAIN, date=NOW)
    assert message.as_bytes() == raw(
        "From: a@example.com",
        "Subject: hi",
        f"Message-ID: <{MID}@{DOMAIN}>",
        "Date: Fri, 08 Dec 2023 12:00:00 +0000",
        "MIME-Version: 1.0",
    )
    mime.ensure_headers(message, message_id=MID, mail_domain=DOMAIN, date=NOW)
    assert len(message.get_all("MIME-Version", [])) == 1
    assert seen(message)["Message-ID"] == f"<{MID}@{DOMAIN}>"


# --- transform_html ----------------------------------------------------------------------

MIXED = (
    b"From: a@example.com\r\n"
    b"To: b@example.com\r\n"
    b"Subject: links\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n'
    b"\r\n"
    b"--outer\r\n"
    b'Content-Type: multipart/alternative; boundary="alt"\r\n'
    b"\r\n"
    b"--alt\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Visit https://example.com/a caf=C3=A9\r\n"
    b"--alt\r\n"
    b"Content-Type: text/html; charset=utf-8; format=fixed\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"Content-Language: de\r\n"
    b"\r\n"
    b'<p>Gr\xc3\xbc\xc3\x9fe <a href="https://example.com/a">a</a> \xff</p>\r\n'
    b"--alt--\r\n"
    b"--outer\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b'Content-Disposition: attachment; filename="page.html"\r\n'
    b"\r\n"
    b'<a href="https://example.com/a">attached page</a>\r\n'
    b"--outer\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"Subject: forwarded\r\n"
    b"Content-Type: text/html\r\n"
    b"\r\n"
    b'<a href="https://example.com/a">forwarded</a>\r\n'
    b"--outer\r\n"
    b"Content-Type: image/png\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n" + base64.encodebytes(PNG).replace(b"\n", b"\r\n") + b"--outer--\r\n"
)


def relink(html: str) -> str:
    return html.replace(
        "https://example.com/a", "https://track.example/L0/https:%2F%2Fexample.com%2Fa/1"
    )


def test_transform_touches_only_the_html_body() -> None:
    message = mime.parse_raw(MIXED)
    before = leaves(message)
    assert mime.transform_html(message, relink) == 1
    after = leaves(message)
    changed = [
        index for index, (old, new) in enumerate(zip(before, after, strict=True)) if old != new
    ]
    assert changed == [1]  # the HTML alternative; text, attachment, forwarded mail, image alike
    html = after[1]
    assert b'href="https://track.example/L0/https:%2F%2Fexample.com%2Fa/1"' in html
    assert b"Gr\xc3\xbc\xc3\x9fe" in html and b"\xff</p>" in html  # stray octet kept
    assert b"Content-Language: de\r\n" in html and b"format=fixed" in html
    assert b"Content-Transfer-Encoding: 8bit\r\n" in html
    client = seen(message)
    assert "https://example.com/a" in shown(client.get_body(("plain",)))


def test_transform_that_changes_nothing_leaves_every_byte() -> None:
    message = mime.parse_raw(MIXED)
    assert mime.transform_html(message, lambda html: html) == 0
    assert mime.transform_html(mime.parse_raw(MIXED), lambda html: html.replace("absent", "x")) == 0


def single_html(body: bytes, charset: str | None, cte: str | None) -> bytes:
    lines = [b"From: a@example.com", b"Subject: t", b"MIME-Version: 1.0"]
    lines.append(
        b"Content-Type: text/html" + (b"; charset=" + charset.encode() if charset else b"")
    )
    if cte is not None:
        lines.append(b"Content-Transfer-Encoding: " + cte.encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def pixel(html: str) -> str:
    return html.replace("</p>", '<img src="https://t.example/I0/x"></p>')


TRANSFORMS: list[
    tuple[str, bytes, str | None, str | None, Callable[[str], str], str | None, bytes]
] = [
    (
        "7bit stays 7bit",
        b"<p>hi</p>\r\n",
        "utf-8",
        "7bit",
        pixel,
        "7bit",
        b'<p>hi<img src="https://t.example/I0/x"></p>\r\n',
    ),
    (
        "7bit gains non-ascii",
        b"<p>hi</p>\r\n",
        "utf-8",
        "7bit",
        lambda h: h.replace("hi", "h\u00e9"),
        "quoted-printable",
        "<p>hé</p>\r\n".encode(),
    ),
    (
        "no charset: references",
        b"<p>hi</p>",
        None,
        None,
        lambda h: h.replace("hi", "h\u00e9\u20ac"),
        None,
        b"<p>h&#233;&#8364;</p>",
    ),
    (
        "8bit keeps octets",
        b"<p>Gr\xc3\xbc\xff</p>",
        "utf-8",
        "8bit",
        pixel,
        "8bit",
        b'<p>Gr\xc3\xbc\xff<img src="https://t.example/I0/x"></p>',
    ),
    (
        "8bit too long",
        "<p>é</p>".encode(),
        "utf-8",
        "8bit",
        lambda h: h + "a" * 1200,
        "quoted-printable",
        "<p>é</p>".encode() + b"a" * 1200,
    ),
    (
        "qp stays qp",
        b"<p>=E9t=E9</p>",
        "iso-8859-1",
        "quoted-printable",
        lambda h: h + "\u20ac",
        "quoted-printable",
        b"<p>\xe9t\xe9</p>&#8364;",
    ),
    (
        "base64 shift_jis",
        base64.b64encode("<p>日本</p>".encode("shift_jis")),
        "shift_jis",
        "base64",
        lambda h: h.replace("日本", "日本<b>語</b>"),
        "base64",
        "<p>日本<b>語</b></p>".encode("shift_jis"),
    ),
    (
        "binary stays binary",
        b"<p>x</p>",
        "utf-8",
        "binary",
        pixel,
        "binary",
        b'<p>x<img src="https://t.example/I0/x"></p>',
    ),
]


@pytest.mark.parametrize(
    ("body", "charset", "cte", "change", "cte_after", "decoded"),
    [t[1:] for t in TRANSFORMS],
    ids=[t[0] for t in TRANSFORMS],
)
def test_transform_keeps_charset_and_a_fitting_encoding(
    body: bytes,
    charset: str | None,
    cte: str | None,
    change: Callable[[str], str],
    cte_after: str | None,
    decoded: bytes,
) -> None:
    message = mime.parse_raw(single_html(body, charset, cte))
    assert mime.transform_html(message, change) == 1
    data = message.as_bytes()
    assert max(len(line) for line in wire_lines(data)) <= (
        76 if cte_after in ("base64", "quoted-printable") else 1300
    )
    client = seen(message)
    assert client.get("Content-Transfer-Encoding") == cte_after
    if charset is None:
        assert "charset" not in client["Content-Type"]
    else:
        assert client.get_param("charset") == charset
    assert client.get_payload(decode=True).replace(b"\r\n", b"\n") == decoded.replace(
        b"\r\n", b"\n"
    )


def test_transform_skips_charsets_python_does_not_know() -> None:
    message = mime.parse_raw(single_html(b"<p>hi</p>", "x-unknown", None))
    assert mime.transform_html(message, pixel) == 0


def test_transform_of_a_built_message() -> None:
    message = build(
        content(
            "text https://example.com/a",
            '<p><a href="https://example.com/a">a</a></p>',
            attachments=[LOGO, PDF],
        )
    )
    before = leaves(message)
    assert mime.transform_html(message, lambda html: pixel(relink(html))) == 1
    after = leaves(message)
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [1]
    client = seen(message)
    assert shown(client.get_body(("html",))) == (
        '<p><a href="https://track.example/L0/https:%2F%2Fexample.com%2Fa/1">a</a>'
        '<img src="https://t.example/I0/x"></p>\n'
    )
    assert shown(client.get_body(("plain",))) == "text https://example.com/a\n"


# --- event record: commonHeaders, headers ------------------------------------------------


def test_common_headers_of_a_built_message() -> None:
    message = build(
        content("hi", subject="Grüße"),
        from_address="Jörg <jorg@example.com>",
        to=["a@example.com", "Bee <b@example.com>"],
        cc=["c@example.com"],
        reply_to=["r@example.com"],
    )
    assert mime.common_headers(message) == {
        "from": ["Jörg <jorg@example.com>"],
        "replyTo": ["r@example.com"],
        "date": "Fri, 08 Dec 2023 12:00:00 +0000",
        "to": ["a@example.com", "Bee <b@example.com>"],
        "cc": ["c@example.com"],
        "messageId": f"<{MID}@{DOMAIN}>",
        "subject": "Grüße",
    }
    assert mime.common_headers(message, message_id=MID)["messageId"] == MID


def test_common_headers_of_a_raw_message() -> None:
    message = mime.parse_raw(
        raw(
            "Return-Path: <bounce@example.com>",
            "From: =?utf-8?q?J=C3=B6rg?= <jorg@example.com>",
            "To: undisclosed-recipients:;",
            "Bcc: hidden@example.com",
            "Subject: =?Shift_JIS?B?k/qWe4zq?=",
            "Message-ID: <own@example.com>",
        )
    )
    assert mime.common_headers(message) == {
        "returnPath": "bounce@example.com",
        "from": ["Jörg <jorg@example.com>"],
        "to": [],
        "bcc": ["hidden@example.com"],
        "messageId": "<own@example.com>",
        "subject": "日本語",
    }
    assert mime.common_headers(mime.parse_raw(raw("X-Only: 1"))) == {}


def test_header_list_is_the_headers_as_written() -> None:
    message = mime.parse_raw(
        raw(
            "X-SES-CONFIGURATION-SET: set",
            "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=",
            # JavaMail folds after "; " with a tab; SES's records then show two spaces.
            'Content-Type: multipart/alternative; \r\n\tboundary="b"',
            "X-Folded: one\r\n two\r\n\tthree",
        ).replace(b"Hello\r\n", b"--b\r\n\r\nhi\r\n--b--\r\n")
    )
    headers, truncated = mime.header_list(message)
    assert truncated is False
    assert headers == [
        {"name": "X-SES-CONFIGURATION-SET", "value": "set"},
        {"name": "Subject", "value": "=?utf-8?q?Gr=C3=BC=C3=9Fe?="},
        {"name": "Content-Type", "value": 'multipart/alternative;  boundary="b"'},
        {"name": "X-Folded", "value": "one two three"},
    ]


def test_header_list_of_a_built_message_and_exclude() -> None:
    message = build(content("hi", subject="Grüße"), cc=["c@example.com"])
    names = [h["name"] for h in mime.header_list(message)[0]]
    assert names == list(message.keys())
    excluded = mime.header_list(message, exclude=("message-id", "Date"))[0]
    assert [h["name"] for h in excluded] == names[2:]
    subject = [h["value"] for h in excluded if h["name"] == "Subject"]
    assert subject[0].startswith("=?utf-8?")  # as written, not decoded


@pytest.mark.parametrize("limit", [0, 40, 41, 100, 10 * 1024])
def test_header_list_truncates_past_the_limit(limit: int) -> None:
    lines = [f"X-Big-{n}: " + "v" * 900 for n in range(15)]
    message = mime.parse_raw(raw(*lines))
    headers, truncated = mime.header_list(message, limit)
    used = sum(len(f"{h['name']}: {h['value']}\r\n") for h in headers)
    assert used <= limit
    assert truncated is True
    assert len(headers) == min(15, limit // 911)
    assert [h["name"] for h in headers] == [f"X-Big-{n}" for n in range(len(headers))]


def test_header_list_default_limit_is_10_kb() -> None:
    few = mime.parse_raw(raw(*[f"X-Big-{n}: " + "v" * 900 for n in range(11)]))
    many = mime.parse_raw(raw(*[f"X-Big-{n}: " + "v" * 900 for n in range(12)]))
    assert mime.header_list(few) == (mime.header_list(few, 10240)[0], False)
    assert mime.header_list(many)[1] is True
    assert len(mime.header_list(many)[0]) == 11


# --- recipients and size -----------------------------------------------------------------

RECIPIENTS = [
    ("to only", ["To: a@example.com"], ["a@example.com"]),
    (
        "all three",
        ["To: a@example.com", "Cc: B <b@example.com>", "Bcc: c@example.com"],
        ["a@example.com", "b@example.com", "c@example.com"],
    ),
    (
        "lists and names",
        [
            'To: "Smith, Ann" <ann@example.com>, bob@example.com',
            "Cc: =?utf-8?q?J=C3=B6rg?= <j@example.com>",
        ],
        ["ann@example.com", "bob@example.com", "j@example.com"],
    ),
    ("duplicates", ["To: a@example.com, A@Example.com", "Bcc: a@example.com"], ["a@example.com"]),
    (
        "group",
        ["To: friends: x@example.com, y@example.com;", "Cc: undisclosed-recipients:;"],
        ["x@example.com", "y@example.com"],
    ),
    (
        "repeated header",
        ["To: a@example.com", "To: b@example.com"],
        ["a@example.com", "b@example.com"],
    ),
    ("none", ["From: a@example.com"], []),
]


@pytest.mark.parametrize(
    ("lines", "expected"), [r[1:] for r in RECIPIENTS], ids=[r[0] for r in RECIPIENTS]
)
def test_recipients_of_a_raw_message(lines: list[str], expected: list[str]) -> None:
    assert mime.recipients_of(mime.parse_raw(raw(*lines))) == expected


def test_a_recipient_without_a_domain_is_refused() -> None:
    with pytest.raises(ValueError, match="Invalid address <nobody>"):
        mime.recipients_of(mime.parse_raw(raw("To: nobody")))


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(lambda: build(content("hi", "<p>hi</p>", attachments=[PDF])), id="built"),
        pytest.param(lambda: mime.parse_raw(ONE_LEVEL.replace(b"\r\n", b"\n")), id="raw with LF"),
    ],
)
def test_size_counts_the_wire_bytes(message: Callable[[], EmailMessage]) -> None:
    made = message()
    data = mime.to_bytes(made)
    assert mime.size(made) == len(data) == len(made.as_bytes())
    wire_lines(data)


def test_to_bytes_uses_crlf_whatever_the_message_policy() -> None:
    parsed = BytesParser(EmailMessage, policy=policy.default).parsebytes(b"Subject: x\n\nbody\n")
    assert mime.to_bytes(parsed) == b"Subject: x\r\n\r\nbody\r\n"
    assert mime.size(parsed) == len(b"Subject: x\r\n\r\nbody\r\n")


DESCRIBED = [
    build(content("hi", subject="Grüße"), from_address="Jörg <jorg@example.com>"),
    build(
        content("t", "<p>h</p>", subject="Sale 🎉 " * 12, attachments=[PDF]),
        to=[a[1] for a in ADDRESSES],
        cc=["c@example.com"],
        reply_to=['"Smith, Ann" <ann@example.com>'],
    ),
    build(content("hi", headers=[{"Name": "List-Unsubscribe", "Value": "<https://x/" + "u" * 90}])),
    build(content("hi", subject="日本語の件名です。" * 4, charset="Shift_JIS")),
    mime.parse_raw(ONE_LEVEL),
    mime.parse_raw(
        b"From: J\xc3\xb6rg <j@example.com>\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nhi\r\n"
    ),
    mime.parse_raw(raw("X-Folded: one\r\n two\r\n\tthree", "To: undisclosed-recipients:;")),
]


@pytest.mark.parametrize("message", DESCRIBED)
def test_a_message_is_described_the_same_from_its_flattened_bytes(message: EmailMessage) -> None:
    # SendEmail describes the bytes it has just flattened instead of folding each
    # header again: both must give the event record the same text.
    data = mime.to_bytes(message)
    assert mime.header_list(data) == mime.header_list(message)
    assert mime.common_headers(data) == mime.common_headers(message)
    assert mime.common_headers(data, message_id=MID) == mime.common_headers(message, message_id=MID)


def test_header_classes_are_made_once_per_kind_and_behave_as_the_stdlib_ones() -> None:
    factory = mime.POLICY.header_factory
    assert factory["X-One"] is factory["X-Two"]
    assert factory["Subject"] is factory["subject"] is not factory["X-One"]
    assert factory["To"] is factory["cc"] is not factory["X-One"]
    header = factory("To", "Ann <ann@example.com>, b@example.com")
    assert [a.addr_spec for a in header.addresses] == ["ann@example.com", "b@example.com"]
    assert factory("Subject", "=?utf-8?q?Gr=C3=BC=C3=9Fe?=") == "Grüße"


def stdlib_folded(name: str, value: Any) -> bytes:
    """The header as the stdlib's own header classes write it."""
    message = EmailMessage(policy=mime.POLICY)
    message[name] = value
    return mime.POLICY.fold_binary(name, message[name])


def our_folded(name: str, value: Any) -> bytes:
    message = EmailMessage(policy=mime.POLICY)
    message[name] = value
    return mime.POLICY.fold_binary(name, message[name])


PLAIN_OR_NOT = [
    ["news@example.com"],
    ["News <news@example.com>"],
    ["The News Team <news.letter@mail.example.com>"],
    ["o'brien+tag@example.com", "Ann Smith <ann@example.com>"],
    ["J. Smith <j@example.com>"],  # a dot: quoted
    ['"Smith, Ann" <ann@example.com>'],
    ['"=?utf-8?q?x?=" <x@example.com>'],  # looks like an encoded word
    ["José <jose@example.com>"],
    ["Ann <ann@bücher.example>"],
    ["a@[127.0.0.1]"],
    ['"a b"@example.com'],
    [f"r{n}@example.com" for n in range(3)],
    [f"r{n}@example.com" for n in range(12)],  # folded over lines
] + [[f"{'x' * width}@example.com"] for width in range(50, 64)]  # around 76 octets


@pytest.mark.parametrize("values", PLAIN_OR_NOT)
@pytest.mark.parametrize("name", ["From", "To", "Reply-To"])
def test_address_headers_are_written_as_the_stdlib_writes_them(
    name: str, values: list[str]
) -> None:
    addresses = [mime._address(value, name) for value in values]
    expected = stdlib_folded(name, addresses)
    assert our_folded(name, mime._address_header(name, addresses)) == expected


@pytest.mark.parametrize(
    "when",
    # From 1970 on, as message ids are: the stdlib would read a year below 100 as 20yy.
    [NOW, datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)],
)
def test_date_and_mime_version_are_written_as_the_stdlib_writes_them(when: datetime) -> None:
    date = mime._rfc5322_date(when)
    assert our_folded("Date", date) == stdlib_folded("Date", str(date))
    assert our_folded("MIME-Version", mime._MIME_VERSION) == stdlib_folded("MIME-Version", "1.0")


@pytest.mark.parametrize(
    "value",
    [", ".join(values) for values in PLAIN_OR_NOT]
    + ["News  Team <n@example.com>", "a@example.com,b@example.com", "a@example.com, ", "<a@b.c>"]
    + ["=?utf-8?q?Jos=C3=A9?= <jose@example.com>", "x@example.com (comment)", "a..b@example.com"],
)
def test_plain_addresses_are_read_as_the_stdlib_reads_them(value: str) -> None:
    plain = mime._plain_addresses(value)
    if plain is not None:
        parsed = list(mime.POLICY.header_factory("To", value).addresses)
        assert [(a.display_name, a.username, a.domain) for a in plain] == [
            (a.display_name, a.username, a.domain) for a in parsed
        ]
        assert [str(a) for a in plain] == [str(a) for a in parsed]
        assert ", ".join(str(a) for a in plain) == value
    for single in value.split(", "):
        with contextlib.suppress(ValueError):
            ours = mime._address(single, "From")
            assert str(ours) == str(stdlib_address(single))


def stdlib_address(value: str) -> Address:
    """What mime._address made before plain addresses skipped the parser."""
    (found,) = mime.POLICY.header_factory("From", value).addresses
    domain = found.domain if found.domain.isascii() else found.domain.encode("idna").decode()
    return Address(found.display_name, found.username, domain)
