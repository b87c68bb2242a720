"""Signed tracking paths: round trips, tampering, rotation, what a path may carry."""

from __future__ import annotations

import inspect
import re
from urllib.parse import unquote

import httptools
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sesame.mail.tokens import (
    Click,
    Keyring,
    click_path,
    open_path,
    read_click,
    read_open,
    unescaped,
)

OLD = b"o" * 32
NEW = b"n" * 40
RING = Keyring({"k1": OLD}, current="k1")
MID = "0102018c4767ca7e-4b9f787e-7377-4e28-9741-83ab63157da1-000000"

URLS = [
    "https://example.com/",
    "http://example.com",
    "https://example.com/a/b?x=1&y=2#frag",
    "https://example.com/search?q=a+b&r=%20c%2Fd%25e",
    "https://example.com/%E2%82%AC/%253A",
    "https://example.com:8443/path;param?q=(1)*!$'",
    "http://[2001:db8::1]:8080/x?y",
    "https://user:pa%40ss@example.com/",
    "https://example.com/café/日本語?ü=ö",  # not trackable in HTML, but signable
    "https://example.com/with space/and\ttab",
    "https://example.com/#",
    "https://example.com/?",
    "https://example.com//double//slashes/",
    "https://example.com/./a/../b",
    "HTTPS://EXAMPLE.COM/UPPER",
    "https://example.com/" + "x" * 5000 + "?" + "&".join(f"k{i}=v{i}" for i in range(300)),
    "mailto:someone@example.com",
    ".",
    "..",
    "https://example.com/emoji/\U0001f600",
    "https://example.com/nul\0byte",
]


def _flip(text: str, at: int) -> str:
    old = text[at]
    new = "A" if old != "A" else "B"
    return text[:at] + new + text[at + 1 :]


# --- round trips -------------------------------------------------------------------


def test_open_round_trip() -> None:
    path = open_path(RING, MID)
    assert re.fullmatch(r"/I0/" + re.escape(MID) + r"/k1\.[A-Za-z0-9_-]{22}", path)
    assert read_open(RING, path) == MID
    assert read_open(RING, path.encode("ascii")) == MID


@pytest.mark.parametrize("url", URLS, ids=range(len(URLS)))
def test_click_round_trip_is_exact(url: str) -> None:
    path = click_path(RING, MID, 7, url)
    assert path.isascii()
    assert path.startswith("/L0/") and path.count("/") == 5  # the URL is one segment
    for form in (path, path.encode("ascii")):
        assert read_click(RING, form) == Click(MID, 7, url)


def test_click_path_shape_follows_ses() -> None:
    path = click_path(RING, MID, 0, "https://example.com/a?b=1&c=%41#f")
    segment = path.split("/")[2]
    # ses-spec §5.4: `/`, `?`, `&`, `%`, `#` escaped; `:` and `=` literal
    assert segment == "https:%2F%2Fexample.com%2Fa%3Fb=1%26c=%2541%23f"
    assert re.fullmatch(r"/L0/[^/]+/0/" + re.escape(MID) + r"/k1\.[A-Za-z0-9_-]{22}", path), path


@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(
    url=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200),
    index=st.integers(0, 999_999_999),
)
def test_any_text_round_trips(url: str, index: int) -> None:
    path = click_path(RING, MID, index, url)
    assert read_click(RING, path) == Click(MID, index, url)


# --- what proxies and servers do to the path ----------------------------------------


def _through_httptools(path: str) -> tuple[bytes, str]:
    """(raw_path, path) as uvicorn's httptools protocol puts them in the ASGI scope."""
    raw_path = httptools.parse_url(path.encode("ascii")).path
    decoded = raw_path.decode("ascii")
    return raw_path, unquote(decoded) if "%" in decoded else decoded


@pytest.mark.parametrize("url", URLS[:16] + URLS[19:], ids=range(len(URLS[:16] + URLS[19:])))
def test_click_survives_an_asgi_server(url: str) -> None:
    path = click_path(RING, MID, 3, url)
    raw_path, decoded = _through_httptools(path)
    assert raw_path == path.encode("ascii")
    assert read_click(RING, raw_path) == Click(MID, 3, url)
    assert read_click(RING, decoded) == Click(MID, 3, url)  # scope["path"], decoded


@pytest.mark.parametrize("url", URLS[:16], ids=range(16))
def test_click_survives_a_proxy_that_decodes_slashes(url: str) -> None:
    path = click_path(RING, MID, 3, url)
    for decoded in (path.replace("%2F", "/"), path.replace("%2F", "/").replace("%3F", "?")):
        assert read_click(RING, decoded) == Click(MID, 3, url)


def test_lowercase_escapes_from_a_proxy_still_verify() -> None:
    path = click_path(RING, MID, 1, "https://example.com/a?b=c")
    assert read_click(RING, path.replace("%2F", "%2f")) == Click(
        MID, 1, "https://example.com/a?b=c"
    )


# --- tampering ---------------------------------------------------------------------


def test_every_changed_character_of_a_click_path_fails() -> None:
    url = "https://example.com/a?b=1"
    path = click_path(RING, MID, 12, url)
    for at in range(len(path)):
        tampered = _flip(path, at)
        found = read_click(RING, tampered)
        # Changing a hex digit's case inside an escape is the same URL, so it may verify.
        assert found is None or found == Click(MID, 12, url), (at, tampered)
    assert read_click(RING, path.replace("%2F", "%2f")) is not None


def test_every_changed_character_of_an_open_path_fails() -> None:
    path = open_path(RING, MID)
    for at in range(len(path)):
        assert read_open(RING, _flip(path, at)) is None, at


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.replace("/L0/", "/L1/"),
        lambda p: p.replace("/L0/", "/l0/"),
        lambda p: p.replace("/L0/", "/I0/"),
        lambda p: p.replace("example.com", "evil.test"),
        lambda p: p.replace("%2Fa", "%2Fb"),
        lambda p: p.replace("/5/", "/6/"),
        lambda p: p.replace("/5/", "/05/"),
        lambda p: p.replace("/5/", "/-5/"),
        lambda p: p.replace(MID, MID[:-1] + "1"),
        lambda p: p.replace("/k1.", "/k2."),
        lambda p: p.replace("/k1.", "/k1"),
        lambda p: p.replace("/k1.", "/."),
        lambda p: p[:-1],
        lambda p: p[:-2],
        lambda p: p + "A",
        lambda p: p + "=",
        lambda p: p + "/",
        lambda p: p + "/extra",
        lambda p: "/prefix" + p,
        lambda p: p.replace("/5/", "/5/x/"),
        lambda p: p.replace("/5/", "/"),
        lambda p: p[1:],
        lambda p: "",
        lambda p: "/",
        lambda p: "/L0/",
        lambda p: p.encode("ascii") + b"\xff",
        lambda p: p.replace("/L0/", "/L0/\ud800"),
        lambda p: p[:-1] + "\ud800",
        lambda p: p[:-1] + "é",
    ],
)
def test_tampered_click_paths_fail(change: object) -> None:
    path = click_path(RING, MID, 5, "https://example.com/a")
    assert callable(change)
    assert read_click(RING, change(path)) is None


def test_signature_covers_the_url_no_open_redirect() -> None:
    good = click_path(RING, MID, 0, "https://example.com/")
    evil = click_path(RING, MID, 0, "https://evil.test/")
    good_url, good_sig = good.split("/")[2], good.rsplit("/", 1)[1]
    forged = evil.rsplit("/", 1)[0] + "/" + good_sig
    assert read_click(RING, forged) is None
    assert good_url in good


def test_a_signature_is_bound_to_its_kind_message_and_index() -> None:
    opened = open_path(RING, MID)
    click = click_path(RING, MID, 0, "https://example.com/")
    open_sig, click_sig = opened.rsplit("/", 1)[1], click.rsplit("/", 1)[1]
    assert read_click(RING, click.rsplit("/", 1)[0] + "/" + open_sig) is None
    assert read_open(RING, opened.rsplit("/", 1)[0] + "/" + click_sig) is None
    other = click_path(RING, "0100abc", 0, "https://example.com/")
    assert read_click(RING, other.replace("0100abc", MID)) is None
    assert read_click(RING, click.replace("/0/", "/1/")) is None


def test_a_non_canonical_base64_spelling_fails() -> None:
    path = open_path(RING, MID)
    last = path[-1]
    # The 22nd character carries 2 bits that base64 decoders ignore.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bytes = alphabet[alphabet.index(last) ^ 1]
    assert read_open(RING, path[:-1] + same_bytes) is None


@pytest.mark.parametrize(
    "path",
    ["", "/", "/I0", "/I0/", "/I0//k1.x", "/I1/m/k1.x", "/I0/m/k1.x/", "I0/m/k1.x", "/I0/.x/k1.a"],
)
def test_malformed_open_paths_fail(path: str) -> None:
    assert read_open(RING, path) is None


def test_non_ascii_signatures_fail() -> None:
    path = open_path(RING, MID)
    for last in ("\ud800", "é", "\u212a"):
        assert read_open(RING, path[:-1] + last) is None


# --- keys --------------------------------------------------------------------------


def test_rotation_keeps_old_paths_verifying() -> None:
    old_click = click_path(RING, MID, 2, "https://example.com/")
    old_open = open_path(RING, MID)
    rotated = Keyring({"k1": OLD, "k2": NEW}, current="k2")
    new_click = click_path(rotated, MID, 2, "https://example.com/")
    assert "/k2." in new_click and "/k1." in old_click
    for path in (old_click, new_click):
        assert read_click(rotated, path) == Click(MID, 2, "https://example.com/")
    assert read_open(rotated, old_open) == MID
    retired = Keyring({"k2": NEW}, current="k2")
    assert read_click(retired, old_click) is None
    assert read_open(retired, old_open) is None
    assert read_click(retired, new_click) is not None


def test_unknown_key_or_replaced_secret_fails() -> None:
    path = click_path(RING, MID, 0, "https://example.com/")
    assert read_click(Keyring({"k9": OLD}, current="k9"), path) is None
    assert read_click(Keyring({"k1": NEW}, current="k1"), path) is None


@pytest.mark.parametrize(
    ("keys", "current"),
    [
        ({"K1": OLD}, "K1"),
        ({"": OLD}, ""),
        ({"toolongid": OLD}, "toolongid"),
        ({"k.1": OLD}, "k.1"),
        ({"k1": b"short"}, "k1"),
        ({"k1": OLD}, "k2"),
    ],
)
def test_keyring_refuses_bad_keys(keys: dict[str, bytes], current: str) -> None:
    with pytest.raises(ValueError):
        Keyring(keys, current)


def test_keyring_keeps_its_own_copy() -> None:
    keys = {"k1": OLD}
    ring = Keyring(keys, "k1")
    path = open_path(ring, MID)
    keys["k1"] = NEW
    assert read_open(ring, path) == MID
    with pytest.raises(TypeError):
        ring.keys["k2"] = NEW  # type: ignore[index]


# --- what a path may carry -----------------------------------------------------------


def test_paths_carry_no_recipient() -> None:
    # Nothing in the API can take a recipient, and the path holds only the fields.
    for function in (open_path, click_path):
        parameters = set(inspect.signature(function).parameters)
        assert parameters <= {"keyring", "message_id", "index", "url"}
    path = click_path(RING, MID, 4, "https://example.com/")
    assert "@" not in path
    assert path.split("/")[3:5] == ["4", MID]


@pytest.mark.parametrize("message_id", ["", ".", "..", "a/b", "a b", "a%2Fb", "-x", "x" * 129, "é"])
def test_unsafe_message_ids_are_refused(message_id: str) -> None:
    with pytest.raises(ValueError):
        open_path(RING, message_id)
    with pytest.raises(ValueError):
        click_path(RING, message_id, 0, "https://example.com/")


@pytest.mark.parametrize(
    ("index", "url"), [(-1, "https://x/"), (10**9, "https://x/"), (0, ""), (0, "a\ud800")]
)
def test_bad_click_fields_are_refused(index: int, url: str) -> None:
    with pytest.raises(ValueError):
        click_path(RING, MID, index, url)


@settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.one_of(st.text(max_size=120), st.binary(max_size=120)))
def test_readers_never_raise(junk: str | bytes) -> None:
    for text in (junk, "/L0/" + str(junk), "/I0/" + str(junk)):
        assert read_click(RING, text) is None
        assert read_open(RING, text) is None


# Text made of what an unescaping can meet: escapes of every byte class (ASCII, UTF-8
# lead and continuation bytes, invalid bytes), bad escapes, literal non-ASCII characters
# and a lone surrogate.
_PIECES = st.sampled_from(
    [
        "%41",
        "%2F",
        "%25",
        "%C3",
        "%A9",
        "%E2%82%AC",
        "%F0",
        "%ff",
        "%zz",
        "%",
        "a",
        "/",
        "é",
        "€",
        "\U0001f600",
        "\udc80",
        "+",
        " ",
    ]
)


@settings(max_examples=2000, derandomize=True, database=None, deadline=None)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_the_fast_unescaping_is_unquote(segment: str) -> None:
    try:
        expected = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        expected = segment
    assert unescaped(segment) == expected
