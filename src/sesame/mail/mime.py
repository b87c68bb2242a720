"""MIME for SendEmail: build Simple content, read Raw content, describe a message.

Pure functions over the stdlib `email` package (`EmailMessage` under `POLICY`, a
clone of `email.policy.SMTP`); no I/O. Errors are `ValueError`s whose text is
meant for the caller's `BadRequestException`.

SES behaviour copied here (ses-spec.md; SES developer guide, "Amazon SES header
fields", archived as awsdocs `doc-source/header-fields.md`):

- Message ids: 4 hex digits of region + 12 hex digits of Unix milliseconds + `-` +
  UUID4 + `-000000` (ses-spec.md §5.4; prefixes of other regions seen in real
  `Message-ID`s are in `REGION_PREFIXES`).
- Simple content: text only is `text/plain`, HTML only `text/html`, both
  `multipart/alternative`; attachments wrap that in `multipart/mixed`. Header
  order follows the mail SES builds: Message-ID, Date, From, To, Cc, Reply-To,
  Subject, the caller's Headers, MIME-Version, Content-*. There is never a Bcc
  header. Charsets default to UTF-8; the transfer encoding is chosen as JavaMail
  (which SES's `----=_Part_` boundaries show it uses) chooses it: 7bit for ASCII
  with lines of at most 998 octets, else quoted-printable when most octets are
  ASCII, else base64.
- Custom Headers may not name a header SES sets: `BCC, CC, Content-Disposition,
  Content-Type, Date, From, Message-ID, MIME-Version, Reply-To, Return-Path,
  Subject, To` (developer guide); we add Content-Transfer-Encoding, which SES
  also sets. Headers SES allows once only may not repeat, in SES's words:
  `Duplicate header 'List-Unsubscribe'.` (quoted in public bug reports).
- Raw content: the same once-only rule applies to the top-level header block;
  SES replaces the sender's Message-ID and Date with its own ("If you provide a
  Message-ID header, Amazon SES overrides the header with its own value").

A Raw message goes back out as it came (CRLF line ends; headers, their folding
and 8-bit octets as written), but for one stdlib habit: the generator writes a
blank line after the close delimiter of a nested multipart. The parts read the
same; a sender's own DKIM body hash over such a message would not survive.

For the event record (§5.6): take `header_list` and `common_headers` before
`ses_headers` and `ensure_headers` change a Raw message — SES's records show the
headers as submitted, X-SES-* included — and pass `message_id=` to
`common_headers`, since SES's sending records carry the bare SES id there.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import re
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email import errors
from email.generator import BytesGenerator
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.policy import SMTP, Policy
from email.utils import format_datetime
from io import BytesIO
from typing import Any


class _HeaderClasses(HeaderRegistry):
    """The stdlib's header registry, with each header class made once.

    `HeaderRegistry.__getitem__` builds a new class with `type()` for every header
    it parses or sets: about 30 per SendEmail, a tenth of its CPU. The class
    depends only on the registry entry the name maps to, so one per entry (never
    more than the registry holds, whatever names a message uses) behaves the same.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[type[Any], type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        kind = self.registry.get(name.lower(), self.default_class)
        made = self._made.get(kind)
        if made is None:
            made = self._made[kind] = super().__getitem__(name)
        return made


#: The policy of every message made or read here: SMTP's CRLF line endings,
#: 76-character lines (RFC 2045 §6.7 caps quoted-printable lines at 76; SMTP's 78
#: would break that), and headers read from Raw content written back exactly as
#: they came (`refold_source="none"`), so a sender's own DKIM signature survives.
MAX_LINE = 76
POLICY = SMTP.clone(max_line_length=MAX_LINE, refold_source="none", header_factory=_HeaderClasses())

#: Region → the first four hex digits of its message ids, as seen in real mail
#: (`Message-ID: <0102…-000000@eu-west-1.amazonses.com>` and tracking URLs).
REGION_PREFIXES = {
    "us-east-1": "0100",
    "us-west-2": "0101",
    "eu-west-1": "0102",
    "sa-east-1": "0103",
    "ap-northeast-1": "0106",
    "eu-central-1": "0107",
    "ap-southeast-2": "0108",
    "ap-south-1": "0109",
    "eu-west-2": "010b",
    "ap-northeast-2": "010c",
    "ca-central-1": "010d",
    "ap-southeast-1": "010e",
    "us-east-2": "010f",
    "eu-north-1": "0110",
    "us-west-1": "0111",
    "eu-west-3": "0113",
}

#: Headers SES sets itself on Simple content; a custom header may not name them.
FORBIDDEN_HEADERS = frozenset(
    name.lower()
    for name in (
        "BCC", "CC", "Content-Disposition", "Content-Type", "Date", "From", "Message-ID",
        "MIME-Version", "Reply-To", "Return-Path", "Subject", "To",
        "Content-Transfer-Encoding",
    )
)  # fmt: skip

#: Headers that "can't appear more than once in the header section" (developer guide).
SINGLE_HEADERS = frozenset(
    name.lower()
    for name in (
        "Accept-Language", "acceptLanguage", "Archived-At", "Auto-Submitted", "Bounces-to",
        "Comments", "Content-Alternative", "Content-Base", "Content-Class",
        "Content-Description", "Content-Disposition", "Content-Duration", "Content-ID",
        "Content-Language", "Content-Length", "Content-Location", "Content-MD5",
        "Content-Transfer-Encoding", "Content-Type", "Date", "Delivered-To",
        "Disposition-Notification-Options", "Disposition-Notification-To", "DKIM-Signature",
        "DomainKey-Signature", "Errors-To", "From", "Importance", "In-Reply-To", "Keywords",
        "List-Archive", "List-Help", "List-Id", "List-Owner", "List-Post", "List-Subscribe",
        "List-Unsubscribe", "List-Unsubscribe-Post", "Message-Context", "Message-ID",
        "MIME-Version", "Organization", "Original-From", "Original-Message-ID",
        "Original-Recipient", "Original-Subject", "Precedence", "Priority", "References",
        "Reply-To", "Return-Path", "Return-Receipt-To", "Sender", "Solicitation",
        "Sensitivity", "Subject", "Thread-Index", "Thread-Topic", "User-Agent", "VBR-Info",
    )
)  # fmt: skip

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEADER_NAME = re.compile(r"[!-9;-~]{1,126}")
_HEADER_VALUE = re.compile(r"[ -~]*")
_FOLD = re.compile(r"\r?\n[ \t]")
#: Where one header field of a flattened header block ends: a CRLF that no fold follows.
_FIELD_END = re.compile(rb"\r\n(?![ \t])")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
#: `Display Name <local@domain>` or `local@domain` with nothing to quote or encode:
#: atoms, single spaces, dot-atoms, ASCII (RFC 5322 §3.2.3, §3.4).
_PLAIN_ADDRESS = re.compile(
    rf"(?:({_ATOM}(?: {_ATOM})*) <)?({_DOT_ATOM})@({_DOT_ATOM})(?(1)>)", re.ASCII
).fullmatch
_DISPOSITIONS = {"ATTACHMENT": "attachment", "INLINE": "inline"}
_ENCODINGS = {"BASE64": "base64", "QUOTED_PRINTABLE": "quoted-printable", "SEVEN_BIT": "7bit"}
_ASCII = bytes(range(128))


# --- message ids -------------------------------------------------------------------------


def region_prefix(region: str) -> str:
    """The four hex digits that open a message id sent from `region`.

    Regions not in `REGION_PREFIXES` get `01` + `80`–`ff` from a CRC-32 of the
    name: stable across processes and never one of the prefixes SES uses.
    """
    known = REGION_PREFIXES.get(region)
    if known is not None:
        return known
    return f"01{0x80 | (zlib.crc32(region.encode()) & 0x7F):02x}"


def new_message_id(now: datetime, region: str) -> str:
    """A new SES message id, e.g. `0100018c4767ca7e-4b9f787e-…-83ab63157da1-000000`."""
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    millis = (now - _EPOCH) // timedelta(milliseconds=1)
    if millis < 0:  # 12 hex digits last until the year 10889, past datetime's 9999
        raise ValueError(f"{now.isoformat()} is before 1970")
    return f"{region_prefix(region)}{millis:012x}-{uuid.uuid4()}-000000"


# --- building Simple content -------------------------------------------------------------


class _Verbatim(str):
    """A header written as given, folded only at its own spaces.

    EmailPolicy keeps a value that has `name` and `fold` as a header object
    (`header_store_parse`), so neither the value nor its folding is re-encoded.
    The stdlib would wrap a long `List-Unsubscribe: <https://…>` in encoded
    words, which breaks it, and would re-encode a Shift_JIS subject as UTF-8.
    """

    name: str
    lines: list[str]

    def __new__(cls, name: str, lines: list[str]) -> _Verbatim:
        self = super().__new__(cls, " ".join(lines))
        self.name = name
        self.lines = lines
        return self

    def __getnewargs__(self) -> tuple[str, list[str]]:  # type: ignore[override]
        return (self.name, self.lines)

    def fold(self, *, policy: Policy[Any]) -> str:
        return f"{self.name}: " + f"{policy.linesep} ".join(self.lines) + policy.linesep


def _plain_folded(name: str, value: str) -> _Verbatim:
    """`value` folded at spaces so lines stay within 76 octets where a space allows."""
    lines: list[str] = []
    current = ""
    room = 76 - len(name) - 2
    for index, word in enumerate(value.split(" ")):
        # Fold only before a word: a continuation line of nothing but blanks is illegal.
        if index and word and len(current) + 1 + len(word) > room and current.strip():
            lines.append(current)
            current, room = word, 75
        else:
            current = word if index == 0 else f"{current} {word}"
    lines.append(current)
    return _Verbatim(name, lines)


def _encoded_words(name: str, text: str, charset: str) -> _Verbatim:
    """`text` as RFC 2047 B-encoded words in `charset`, split between characters.

    Every word stays whole in its charset (RFC 2047 §5), and a line holding one
    is at most 76 characters (§2).
    """
    prefix = f"=?{charset}?B?"
    words: list[str] = []
    room = 76 - len(name) - 2
    chunk = ""
    for char in text:
        candidate = chunk + char
        size = len(prefix) + 4 * -(-len(candidate.encode(charset)) // 3) + 2
        if chunk and size > room:
            words.append(prefix + base64.b64encode(chunk.encode(charset)).decode() + "?=")
            chunk, room = char, 75
        else:
            chunk = candidate
    words.append(prefix + base64.b64encode(chunk.encode(charset)).decode() + "?=")
    return _Verbatim(name, words)


def _codec(label: str, what: str) -> str:
    try:
        codec = codecs.lookup(label).name
        # MIME text needs a charset that writes ASCII as ASCII (RFC 2046 §4.1.2).
        ascii_based = "a=\r\n".encode(codec) == b"a=\r\n"
    except (LookupError, UnicodeError):
        raise ValueError(f"Unsupported charset <{label}> for the {what}.") from None
    if not ascii_based:
        raise ValueError(f"Charset <{label}> cannot be used for the {what}: it is not ASCII based.")
    return codec


def _encode(text: str, label: str, what: str) -> bytes:
    try:
        return text.encode(_codec(label, what))
    except UnicodeEncodeError as problem:
        raise ValueError(
            f"The {what} has characters that charset <{label}> cannot encode "
            f"({problem.object[problem.start : problem.end]!r})."
        ) from None


def _lines_fit(data: bytes) -> bool:
    return all(len(line) <= 998 for line in data.splitlines())


def _transfer_encoding(data: bytes) -> str:
    """JavaMail's choice: 7bit when it may be, else quoted-printable when more
    octets are ASCII than not, else base64 (so Japanese text goes as base64)."""
    if data.isascii() and b"\0" not in data and _lines_fit(data):
        return "7bit"
    non_ascii = len(data.translate(None, _ASCII))
    return "quoted-printable" if non_ascii < len(data) - non_ascii else "base64"


def _subject(content: Mapping[str, Any]) -> str | _Verbatim:
    text: str = content["Data"]
    if "\r" in text or "\n" in text:
        raise ValueError("The subject must not contain line breaks.")
    label = content.get("Charset")
    if text.isascii() or label is None:
        return text  # the stdlib encodes non-ASCII as UTF-8 encoded words
    codec = _codec(label, "subject")
    if codec == "utf-8":
        return text
    _encode(text, label, "subject")
    return _encoded_words("Subject", text, label)


def _plain_addresses(value: str) -> list[Address] | None:
    """The addresses of `value` when each one, between `, `, is plain (see
    `_PLAIN_ADDRESS`), else None. For such text the stdlib's address parser finds
    exactly these names and parts, and writes them back unchanged, so there is no
    need to run it; `=?` is left to it, since it may open an encoded word."""
    if "=?" in value:
        return None
    found: list[Address] = []
    for piece in value.split(", "):
        plain = _PLAIN_ADDRESS(piece)
        if plain is None:
            return None
        found.append(Address(plain.group(1) or "", plain.group(2), plain.group(3)))
    return found


def _address(value: str, field: str) -> Address:
    """One `Name <local@domain>`; an IDN domain is written as Punycode."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"Invalid {field} address <{value!r}>: it contains a line break.")
    plain = _plain_addresses(value)
    if plain is not None and len(plain) == 1:
        return plain[0]  # one name@domain, ASCII: nothing left to check or convert
    header = POLICY.header_factory(field, value)
    found = list(header.addresses)
    if len(found) != 1 or not found[0].username or not found[0].domain:
        raise ValueError(f"Invalid {field} address <{value}>: expected one name@domain.")
    address: Address = found[0]
    if not address.username.isascii():
        raise ValueError(
            f"Invalid {field} address <{value}>: the local part must be ASCII "
            "(SES does not support SMTPUTF8)."
        )
    domain = address.domain
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"Invalid {field} address <{value}>: bad domain.") from None
    return Address(address.display_name, address.username, domain)


def _custom_headers(headers: Sequence[Mapping[str, str]]) -> list[_Verbatim]:
    made: list[_Verbatim] = []
    seen: set[str] = set()
    for header in headers:
        name, value = header["Name"], header["Value"]
        key = name.lower()
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"Invalid header name <{name}>.")
        if not _HEADER_VALUE.fullmatch(value) or len(name) + len(value) > 996:
            raise ValueError(f"Invalid value for header <{name}>.")
        if key in FORBIDDEN_HEADERS:
            raise ValueError(
                f"Header <{name}> cannot be set in Headers: SES sets it from the request."
            )
        if key in SINGLE_HEADERS and key in seen:
            raise ValueError(f"Duplicate header '{name}'.")
        seen.add(key)
        made.append(_plain_folded(name, value))
    return made


def _text_part(content: Mapping[str, Any], subtype: str) -> MIMEPart:
    what = "text body" if subtype == "plain" else "HTML body"
    label = content.get("Charset") or "UTF-8"
    data = _encode(content["Data"], label, what)
    part = MIMEPart(policy=POLICY)
    part.set_content(content["Data"], subtype=subtype, charset=label, cte=_transfer_encoding(data))
    return part


def _content_type(value: str | None, filename: str) -> tuple[str, str, dict[str, str]]:
    if value is None:
        return "application", "octet-stream", {}
    header = POLICY.header_factory("content-type", value)
    if header.defects or "/" not in value:
        raise ValueError(f"Invalid attachment content type <{value}> for <{filename}>.")
    if header.maintype == "multipart":
        raise ValueError(f"Attachment <{filename}> cannot be of type {header.content_type}.")
    params = {key: value for key, value in header.params.items() if key != "name"}
    return header.maintype, header.subtype, params


def _content_id(value: str) -> str:
    return "<" + value.strip().removeprefix("<").removesuffix(">") + ">"


def _attachment(spec: Mapping[str, Any]) -> MIMEPart:
    filename: str = spec["FileName"]
    if not filename.strip():
        raise ValueError("An attachment needs a FileName.")
    for member in ("FileName", "ContentId", "ContentDescription", "ContentType"):
        if any(c in str(spec.get(member, "")) for c in "\r\n"):
            raise ValueError(f"The {member} of attachment <{filename!r}> has a line break.")
    data = bytes(spec["RawContent"])
    disposition = _DISPOSITIONS.get(spec.get("ContentDisposition", "ATTACHMENT"))
    cte = _ENCODINGS.get(spec.get("ContentTransferEncoding", "BASE64"))
    if disposition is None or cte is None:
        raise ValueError(f"Invalid disposition or transfer encoding for attachment <{filename}>.")
    if cte == "7bit" and not (data.isascii() and b"\0" not in data and _lines_fit(data)):
        raise ValueError(
            f"Attachment <{filename}> is not 7-bit text (ASCII, lines of at most 998 "
            "octets), so it cannot be sent as SEVEN_BIT."
        )
    maintype, subtype, params = _content_type(spec.get("ContentType"), filename)
    part = MIMEPart(policy=POLICY)
    part.set_content(
        data,
        maintype,
        subtype,
        cte=cte,
        disposition=disposition,
        filename=filename,
        cid=_content_id(spec["ContentId"]) if spec.get("ContentId") else None,
    )
    for key, value in {**params, "name": filename}.items():
        part.set_param(key, value, replace=True)  # in place: Content-Type stays first
    if spec.get("ContentDescription"):
        part["Content-Description"] = spec["ContentDescription"]
    return part


def _is_related(spec: Mapping[str, Any]) -> bool:
    return spec.get("ContentDisposition") == "INLINE" and bool(spec.get("ContentId"))


class _Boundaries:
    """Boundaries derived from the message id (so a build is reproducible) that no
    leaf contains. `=_` cannot occur in base64 or quoted-printable text."""

    def __init__(self, seed: str, leaves: list[MIMEPart]) -> None:
        self.seed = seed
        self.texts = [str(leaf.get_payload()) for leaf in leaves]
        self.count = 0

    def container(self, subtype: str, parts: list[MIMEPart], **params: str) -> MIMEPart:
        salt = 0
        while True:
            digest = hashlib.sha256(f"{self.seed}/{self.count}/{salt}".encode()).hexdigest()
            boundary = f"----=_Part_{self.count}_{digest[:24]}"
            if not any(boundary in text for text in self.texts):
                break
            salt += 1
        self.count += 1
        container = MIMEPart(policy=POLICY)
        container["Content-Type"] = f"multipart/{subtype}"
        for key, value in params.items():
            container.set_param(key, value)
        container.set_param("boundary", boundary)
        for part in parts:
            container.attach(part)
        return container


def _body(simple: Mapping[str, Any], seed: str) -> MIMEPart:
    body = simple.get("Body") or {}
    text = _text_part(body["Text"], "plain") if body.get("Text") is not None else None
    html = _text_part(body["Html"], "html") if body.get("Html") is not None else None
    specs = list(simple.get("Attachments") or [])
    related = [_attachment(s) for s in specs if html is not None and _is_related(s)]
    mixed = [_attachment(s) for s in specs if html is None or not _is_related(s)]
    if text is None and html is None and not mixed:
        raise ValueError("The message must have a text body, an HTML body or an attachment.")
    leaves = [p for p in (text, html, *related, *mixed) if p is not None]
    boundaries = _Boundaries(seed, leaves)
    if html is not None and related:
        # Inline images belong to the HTML alternative only (RFC 2387), so a
        # text-only reader never lists them as attachments.
        html = boundaries.container("related", [html, *related], type="text/html")
    core = [p for p in (text, html) if p is not None]
    if len(core) == 2:
        core = [boundaries.container("alternative", core)]
    if mixed:
        return boundaries.container("mixed", [*core, *mixed])
    return core[0]


def _message_id(message_id: str, mail_domain: str) -> _Verbatim:
    # On one line, as SES writes it (the stdlib would fold it after the colon).
    return _Verbatim("Message-ID", [f"<{message_id}@{mail_domain}>"])


def _rfc5322_date(date: datetime) -> _Verbatim:
    if date.tzinfo is None:
        raise ValueError("date must be a timezone-aware datetime")
    # SES stamps the time in UTC (developer guide, header fields). Written as is:
    # the stdlib's DateHeader would parse the text back into a datetime only to
    # write the same 31 ASCII characters on one line.
    return _Verbatim("Date", [format_datetime(date.astimezone(UTC))])


#: `MIME-Version: 1.0`, written as is rather than parsed back by MIMEVersionHeader.
_MIME_VERSION = _Verbatim("MIME-Version", ["1.0"])


def _address_header(name: str, addresses: list[Address]) -> _Verbatim | list[Address]:
    """The value to set for an address header: the addresses themselves, for the
    stdlib's AddressHeader to fold and encode, or, when that header would be
    `Name: ` + the addresses joined by ", " on one line anyway, that line as is.

    That is the case when the addresses are plain (`_plain_addresses`) and the line
    is within 76 octets: nothing for the stdlib to quote, encode or fold, and its
    parse tree prints back exactly the text it was made from. Parsing that text
    back is most of what setting such a header costs.
    """
    text = ", ".join(str(address) for address in addresses)
    if len(name) + 2 + len(text) <= MAX_LINE and _plain_addresses(text) is not None:
        return _Verbatim(name, [text])
    return addresses


def build_simple(
    simple: Mapping[str, Any],
    *,
    from_address: str,
    to: Sequence[str],
    cc: Sequence[str],
    reply_to: Sequence[str],
    message_id: str,
    mail_domain: str,
    date: datetime,
) -> EmailMessage:
    """The message SES sends for a `Content.Simple` member (AWS member names).

    Inline attachments (`ContentDisposition: INLINE` with a `ContentId`) go with
    the HTML body into `multipart/related; type="text/html"` inside the
    alternative; other attachments (and inline ones when there is no HTML) go
    into the outer `multipart/mixed`. Attachments default to `ATTACHMENT`,
    `BASE64` and `application/octet-stream`; their file name is also set as the
    Content-Type `name` parameter for older clients, non-ASCII per RFC 2231.
    A Subject `Charset` other than UTF-8 is used for its encoded words too.
    """
    message = EmailMessage(policy=POLICY)
    message["Message-ID"] = _message_id(message_id, mail_domain)
    message["Date"] = _rfc5322_date(date)
    message["From"] = _address_header("From", [_address(from_address, "From")])
    for field, values in (("To", to), ("Cc", cc), ("Reply-To", reply_to)):
        if values:
            message[field] = _address_header(field, [_address(value, field) for value in values])
    message["Subject"] = _subject(simple["Subject"])
    for header in _custom_headers(simple.get("Headers") or []):
        message[header.name] = header
    body = _body(simple, message_id)
    message["MIME-Version"] = _MIME_VERSION
    for name, value in body.items():
        message[name] = value
    message.set_payload(body.get_payload())
    return message


# --- reading Raw content -----------------------------------------------------------------


def parse_raw(data: bytes) -> EmailMessage:
    """`Content.Raw.Data` as a message; ValueError when it is not one SES would take."""
    if not data.strip():
        raise ValueError("The message is empty.")
    message = BytesParser(EmailMessage, policy=POLICY).parsebytes(data)
    names = list(message.keys())
    if not names:
        raise ValueError("The message has no header section.")
    # The parser drops a `: value` line, noting an InvalidHeaderDefect ("Missing
    # header name."), the only one it notes on the message itself.
    if any(isinstance(d, errors.InvalidHeaderDefect) for d in message.defects):
        raise ValueError("Empty header names are illegal.")
    if any(isinstance(d, errors.FirstHeaderLineIsContinuationDefect) for d in message.defects):
        raise ValueError("The first header line is a continuation line.")
    if any(isinstance(d, errors.MissingHeaderBodySeparatorDefect) for d in message.defects):
        raise ValueError("A line in the header section is not a header.")
    seen: set[str] = set()
    for name in names:
        key = name.lower()
        if key in SINGLE_HEADERS and key in seen:
            raise ValueError(f"Duplicate header '{name}'.")
        seen.add(key)
    for part in message.walk():
        broken = (errors.NoBoundaryInMultipartDefect, errors.StartBoundaryNotFoundDefect)
        if any(isinstance(d, broken) for d in part.defects):
            raise ValueError("A multipart part has no boundary, or its boundary never occurs.")
    return message


def ses_headers(message: EmailMessage) -> tuple[str | None, list[tuple[str, str]]]:
    """Read and remove `X-SES-CONFIGURATION-SET` and `X-SES-MESSAGE-TAGS`.

    SES strips both before delivery (ses-spec.md §3.10). Tags are written
    `name1=value1, name2=value2`; every such header counts; the first
    configuration-set header wins.
    """
    sets = [str(v).strip() for v in message.get_all("X-SES-CONFIGURATION-SET", [])]
    tags: list[tuple[str, str]] = []
    for value in message.get_all("X-SES-MESSAGE-TAGS", []):
        for pair in str(value).split(","):
            if not pair.strip():
                continue
            name, equals, tag_value = pair.partition("=")
            if not equals:
                raise ValueError(
                    f"Invalid X-SES-MESSAGE-TAGS entry <{pair.strip()}>: use name=value."
                )
            tags.append((name.strip(), tag_value.strip()))
    del message["X-SES-CONFIGURATION-SET"]
    del message["X-SES-MESSAGE-TAGS"]
    return (sets[0] if sets and sets[0] else None), tags


def _put(message: EmailMessage, name: str, value: str) -> None:
    if len(message.get_all(name, [])) == 1:
        message.replace_header(name, value)  # keeps its place among the headers
    else:
        del message[name]
        message[name] = value


def ensure_headers(
    message: EmailMessage, *, message_id: str, mail_domain: str, date: datetime
) -> None:
    """Make a Raw message ready to send, as SES does.

    Message-ID and Date are always SES's: SES overrides a sender's Message-ID
    "with its own value" and a Date with the time it accepted the message, in
    UTC (developer guide, header fields). MIME-Version 1.0 is added when
    missing. A Bcc header is removed so Bcc recipients stay blind (RFC 5322
    §3.6.3); read `recipients_of` and the event record's headers first.
    """
    _put(message, "Message-ID", _message_id(message_id, mail_domain))
    _put(message, "Date", _rfc5322_date(date))
    if "MIME-Version" not in message:
        message["MIME-Version"] = _MIME_VERSION
    del message["Bcc"]


# --- rewriting HTML ----------------------------------------------------------------------


def _html_refs(problem: UnicodeError) -> tuple[bytes, int]:
    """Codec error handler: bytes the parser could not decode go back as they were
    (surrogate escapes); characters the charset lacks become HTML references."""
    if not isinstance(problem, UnicodeEncodeError):
        raise problem
    out = bytearray()
    for char in problem.object[problem.start : problem.end]:
        code = ord(char)
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else f"&#{code};".encode()
    return bytes(out), problem.end


codecs.register_error("sesame.mime.html", _html_refs)


def _html_parts(part: MIMEPart) -> Iterator[MIMEPart]:
    """Text/html parts that are bodies: not attachments, not inside attached messages."""
    maintype = part.get_content_maintype()
    if maintype == "multipart":
        for child in part.iter_parts():
            yield from _html_parts(child)
    elif part.get_content_type() == "text/html" and part.get_content_disposition() != "attachment":
        yield part


def _kept_encoding(part: MIMEPart, data: bytes) -> str:
    """The part's own transfer encoding when it can still carry `data`."""
    current = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    if current in ("base64", "quoted-printable", "binary"):
        return current
    if current == "8bit" and b"\0" not in data and _lines_fit(data):
        return current
    return _transfer_encoding(data)


def _encoded_body(data: bytes, cte: str) -> str:
    if cte == "base64":
        return base64.encodebytes(data).decode("ascii")
    if cte == "quoted-printable":
        return binascii.b2a_qp(data, quotetabs=False, istext=True, header=False).decode("ascii")
    return data.decode("ascii", "surrogateescape")


def transform_html(message: EmailMessage, change: Callable[[str], str]) -> int:
    """Apply `change` to each HTML body part; how many parts it changed.

    A part is decoded with its charset (US-ASCII when it names none) and written
    back in the same charset; bytes that did not decode come back unchanged, and
    characters the charset lacks become `&#N;`. The part keeps its transfer
    encoding when it still fits (7bit needs ASCII, 7bit and 8bit need lines of at
    most 998 octets), else gets the one `build_simple` would choose. Every other
    header and every other part is left as it was; a part with a charset Python
    does not know, or whose text `change` returns unchanged, is not touched.
    """
    changed = 0
    for part in _html_parts(message):
        try:
            codec = codecs.lookup(part.get_content_charset() or "us-ascii").name
        except LookupError:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        html = payload.decode(codec, "surrogateescape")
        new = change(html)
        if new == html:
            continue
        data = new.encode(codec, "sesame.mime.html")
        cte = _kept_encoding(part, data)
        part.set_payload(_encoded_body(data, cte))
        if "Content-Transfer-Encoding" in part:
            if str(part["Content-Transfer-Encoding"]).strip().lower() != cte:
                part.replace_header("Content-Transfer-Encoding", cte)
        elif cte != "7bit":
            part["Content-Transfer-Encoding"] = cte
        changed += 1
    return changed


# --- describing a message ----------------------------------------------------------------


def _wire_headers(source: EmailMessage | bytes) -> list[tuple[str, str]]:
    """(name, value) of the top-level headers as written on the wire, unfolded (a
    fold becomes one space); 8-bit octets in a Raw message's headers are read as UTF-8.

    `source` is the message, or its flattened bytes (`to_bytes`, `as_bytes`): the
    generator writes each header as `POLICY.fold_binary(name, value)`, so reading
    the header block back gives the same text without folding every header again.
    """
    if isinstance(source, bytes):
        end = source.find(b"\r\n\r\n")
        block = source if end < 0 else source[: end + 2]
        lines = [
            (field[: field.index(b":")].decode("ascii"), field.decode("utf-8", "replace"))
            for field in _FIELD_END.split(block)
            if field
        ]
    else:
        lines = [
            (name, POLICY.fold_binary(name, value).decode("utf-8", "replace"))
            for name, value in source.raw_items()
        ]
    found: list[tuple[str, str]] = []
    for name, line in lines:
        value = _FOLD.sub(" ", line[len(name) + 1 :].rstrip("\r\n"))
        found.append((name, value.lstrip(" \t")))
    return found


def _addresses(values: list[str], field: str) -> list[Address]:
    found: list[Address] = []
    for value in values:
        plain = _plain_addresses(value)
        found.extend(POLICY.header_factory(field, value).addresses if plain is None else plain)
    return found


def common_headers(
    message: EmailMessage | bytes, *, message_id: str | None = None
) -> dict[str, Any]:
    """The event record's `mail.commonHeaders` (ses-spec.md §5.6).

    Keys appear only for headers the message has. Addresses keep their display
    names, decoded (`"José <jose@example.com>"`); `subject` is decoded; `date`
    is the header as written. `messageId` is `message_id` when given (SES's own
    sending records carry the bare SES message id), else the Message-ID header
    as written, angle brackets included (as SES's notifications show it).
    `message` may be the flattened bytes instead (see `_wire_headers`).
    """
    headers = _wire_headers(message)

    def values(name: str) -> list[str]:
        return [value for key, value in headers if key.lower() == name.lower()]

    common: dict[str, Any] = {}
    if values("Return-Path"):
        common["returnPath"] = values("Return-Path")[0].strip().strip("<>").strip()
    for key, name in (("from", "From"), ("replyTo", "Reply-To")):
        if values(name):
            common[key] = [str(a) for a in _addresses(values(name), name)]
    if values("Date"):
        common["date"] = values("Date")[0]
    for key, name in (("to", "To"), ("cc", "Cc"), ("bcc", "Bcc")):
        if values(name):
            common[key] = [str(a) for a in _addresses(values(name), name)]
    if message_id is not None:
        common["messageId"] = message_id
    elif values("Message-ID"):
        common["messageId"] = values("Message-ID")[0]
    if values("Subject"):
        common["subject"] = str(POLICY.header_factory("subject", values("Subject")[0]))
    return common


def header_list(
    message: EmailMessage | bytes, limit: int = 10 * 1024, *, exclude: Sequence[str] = ()
) -> tuple[list[dict[str, str]], bool]:
    """The event record's `mail.headers` and `mail.headersTruncated`.

    Headers in message order, values as written (unfolded). SES truncates past
    10 KB; here whole headers are kept while `Name: value` lines (CRLF
    included) fit in `limit` octets. `exclude` names headers to leave out (SES's
    records of Simple content, for one, show no Message-ID). `message` may be the
    flattened bytes instead (see `_wire_headers`).
    """
    skip = {name.lower() for name in exclude}
    listed: list[dict[str, str]] = []
    used = 0
    for name, value in _wire_headers(message):
        if name.lower() in skip:
            continue
        used += len(f"{name}: {value}\r\n".encode())
        if used > limit:
            return listed, True
        listed.append({"name": name, "value": value})
    return listed, False


def recipients_of(message: EmailMessage) -> list[str]:
    """The To, Cc and Bcc addresses of a message, in order, each once."""
    found: list[str] = []
    seen: set[str] = set()
    for name, value in _wire_headers(message):
        if name.lower() not in ("to", "cc", "bcc"):
            continue
        for address in _addresses([value], name):
            if not address.username or not address.domain:
                raise ValueError(f"Invalid address <{address.addr_spec}> in the {name} header.")
            if address.addr_spec.lower() not in seen:
                seen.add(address.addr_spec.lower())
                found.append(address.addr_spec)
    return found


def to_bytes(message: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF line ends, no mbox `From ` line.

    Same as `message.as_bytes()` for messages made or parsed here (they carry
    `POLICY`), whatever policy another message carries.
    """
    out = BytesIO()
    BytesGenerator(out, policy=POLICY).flatten(message, unixfrom=False)
    return out.getvalue()


def size(message: EmailMessage) -> int:
    """Octets on the wire (what SES's 40 MB limit counts)."""
    return len(to_bytes(message))
