"""Signed unsubscribe paths: what is signed reads back, anything else is None."""

from __future__ import annotations

import pytest

from sesame.mail.tokens import Keyring, open_path
from sesame.mail.unsubscribe import Unsubscribe, read_unsubscribe, unsubscribe_path

RING = Keyring({"k1": b"a" * 32, "k2": b"b" * 32}, "k2")
WHAT = Unsubscribe("0100018c-aaaa-000000", 0, "newsletter", "weekly")


@pytest.mark.parametrize("what", [WHAT, Unsubscribe("m-1", 3, "list ü/?&", None)])
def test_round_trip(what: Unsubscribe) -> None:
    path = unsubscribe_path(RING, what)
    assert path.startswith("/U0/")
    assert read_unsubscribe(RING, path) == what


def test_old_keys_verify_and_unknown_keys_do_not() -> None:
    old = unsubscribe_path(Keyring({"k1": b"a" * 32}, "k1"), WHAT)
    assert read_unsubscribe(RING, old) == WHAT
    assert read_unsubscribe(Keyring({"k3": b"c" * 32}, "k3"), old) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"),  # the MAC
        lambda p: p.replace("/U0/", "/U0/e"),  # the payload
        lambda p: p.replace("/U0/", "/U1/"),
        lambda p: p + "/",
        lambda p: p.rsplit("/", 1)[0],
        lambda p: p.replace(".", ""),
    ],
)
def test_any_change_is_refused(change: object) -> None:
    path = unsubscribe_path(RING, WHAT)
    changed = change(path)  # type: ignore[operator]
    assert changed != path
    assert read_unsubscribe(RING, changed) is None


def test_a_tracking_signature_is_not_an_unsubscribe_one() -> None:
    pixel = open_path(RING, "m-1")
    assert read_unsubscribe(RING, pixel.replace("/I0/", "/U0/")) is None
