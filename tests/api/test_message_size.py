"""SES's 40 MB limit on a message, counted on the wire (after base64), end to end.

A message just under the limit goes through boto3, the API's body limit and the
store whole; one just over it is refused with MessageRejected and leaves nothing
behind (no Send event, nothing in the mailbox).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness import RunningSesame, start_sesame

LIMIT = 40 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSesame]:
    running = start_sesame(tmp_path_factory.mktemp("size"))
    running.client().create_email_identity(EmailIdentity="size.example.com")
    yield running
    running.stop()


def _raw(size: int) -> bytes:
    """A MIME message of exactly `size` octets: headers, then base64 lines of 76."""
    head = (
        b"From: big@size.example.com\r\nTo: reader@example.org\r\nSubject: big\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
    )
    line = base64.b64encode(b"\x00" * 57) + b"\r\n"  # 76 characters and CRLF
    body = line * ((size - len(head)) // len(line))
    tail = size - len(head) - len(body)
    # Pad to the exact size with a shorter last line of base64 ("A" is six zero bits).
    return head + body + b"A" * (tail - 2 - (tail - 2) % 4) + b"=" * ((tail - 2) % 4) + b"\r\n"


def _send(running: RunningSesame, raw: bytes) -> Any:
    return running.client().send_email(Content={"Raw": {"Data": raw}})


def test_a_message_just_under_40_megabytes_is_accepted_whole(server: RunningSesame) -> None:
    raw = _raw(LIMIT - 4096)
    message_id = _send(server, raw)["MessageId"]
    (kept,) = server.app.store.list_messages(message_id=message_id)
    assert abs(len(kept.content) - len(raw)) < 1024  # our Message-ID/Date headers added
    server.events(message_id, "Send")


def test_a_message_over_40_megabytes_is_rejected_and_leaves_nothing(
    server: RunningSesame,
) -> None:
    before = len(server.app.store.list_messages())
    with pytest.raises(ClientError) as raised:
        _send(server, _raw(LIMIT + 4096))
    answer = raised.value.response
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert answer["Error"]["Code"] == "MessageRejected"
    assert answer["Error"]["Message"] == "Message length is more than 40 megabytes."
    assert len(server.app.store.list_messages()) == before
