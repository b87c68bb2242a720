"""The SES record helpers that every event goes through."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from sesame.events.records import iso


def _strftime_iso(moment: float) -> str:
    stamp = datetime.fromtimestamp(moment, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (1502315989.927, "2017-08-09T21:59:49.927Z"),
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1502315989.0008, "2017-08-09T21:59:49.000Z"),  # truncated, not rounded
        (1502315989.9999996, "2017-08-09T21:59:50.000Z"),  # microseconds round first
    ],
)
def test_iso_writes_milliseconds_and_z_as_ses_does(moment: float, text: str) -> None:
    assert iso(moment) == text


def test_iso_is_the_strftime_text_it_replaced() -> None:
    rng = random.Random(7)
    for _ in range(20_000):
        moment = rng.randint(0, 4_102_444_800) + rng.choice(
            [rng.random(), 0.0, 0.0005, 0.0009999, 0.9995, 0.99999949, 0.9999996]
        )
        assert iso(moment) == _strftime_iso(moment)
