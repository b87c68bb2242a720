"""Sesame on PostgreSQL end to end, through boto3: one server, then `sesame serve`
and two `sesame worker` processes sharing one database."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError

from engagement import configure, fetch, send, sns, topic
from harness import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    REGION,
    SECRET_ACCESS_KEY,
    free_port,
    run_sesame,
    start_sesame,
)
from receiver import Receiver
from smtp_sink import SmtpSink

pytestmark = pytest.mark.postgres


def test_send_delivery_open_and_click_on_postgresql(
    tmp_path: Path, postgres_url: str, sink: SmtpSink, unique: str
) -> None:
    receiver = Receiver().start()
    running = start_sesame(
        tmp_path,
        database_url=postgres_url,
        smtp_relay=sink.address,
        machine_click_seconds=0,
        sns_webhooks=(f"{topic('all')}={receiver.url('/all')}",),
    )
    try:
        assert running.app.store.fast_reads is False  # reads go to the thread pool
        ses = running.client()
        sender = configure(ses, unique, ("all", sns("all")))
        sent = send(ses, sink, sender, unique)
        assert fetch(running, sent.pixel) == 200
        assert fetch(running, sent.links[0]) == 302
        events = running.events(sent.message_id, "Send", "Delivery", "Open", "Click")
        assert [e.event_type for e in events] == ["Send", "Delivery", "Open", "Click"]
        click = events[-1].record["click"]
        assert click["link"] == "https://example.org/one"
        assert click["linkTags"] == {"placement": ["hero"]}
        published = [n.record() for n in receiver.until(4, path="/all")]
        assert published == [e.record for e in events]
        assert ses.get_account()["SendQuota"]["SentLast24Hours"] == 1.0
    finally:
        running.stop()
        receiver.stop()


def test_serve_and_two_workers_share_one_postgresql_database(
    tmp_path: Path, postgres_url: str, sink: SmtpSink, unique: str
) -> None:
    receiver = Receiver().start()
    port = free_port()
    common = ["--database-url", postgres_url, "--account-id", ACCOUNT_ID]
    common += ["--access-key-id", ACCESS_KEY_ID, "--secret-access-key", SECRET_ACCESS_KEY]
    common += ["--port", str(port), "--machine-click-seconds", "0"]
    worker_options = [*common, "--smtp-relay", sink.address]
    worker_options += ["--sns-webhook", f"{topic('all')}={receiver.url('/all')}"]
    processes: list[subprocess.Popen[str]] = []
    try:
        server, lines = run_sesame(tmp_path, "serve", *common, "--no-deliver", ready="Sesame is")
        processes.append(server)
        assert f"  database:          {postgres_url}\n" in lines
        for _ in range(2):
            worker, _ = run_sesame(tmp_path, "worker", *worker_options, ready="Sesame worker")
            processes.append(worker)
        ses = boto3.client(
            "sesv2",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )
        sender = configure(ses, unique, ("all", sns("all")), types=["SEND", "DELIVERY", "CLICK"])
        # Ten messages, two workers: each delivered, none twice among the first ten.
        ids = {
            ses.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": [f"r{index}@example.org"]},
                Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "x"}}}},
            )["MessageId"]
            for index in range(10)
        }
        delivered = [sink.next() for _ in range(10)]
        assert sorted(r for m in delivered for r in m.recipients) == sorted(
            f"r{index}@example.org" for index in range(10)
        )
        # A tracked message: the server records the click, a worker publishes it.
        sent = send(ses, sink, sender, unique)
        assert fetch(SimpleNamespace(url=f"http://127.0.0.1:{port}"), sent.links[0]) == 302

        def of_sent(count: int) -> list[str]:
            while len(found) < count:
                for n in receiver.until(1, path="/all", timeout=60):
                    if n.record()["mail"]["messageId"] == sent.message_id:
                        found.append(n.record()["eventType"])
            return found

        found: list[str] = []
        # The ten plain messages publish their Send and Delivery too, in any order.
        assert of_sent(3) == ["Send", "Delivery", "Click"]
        assert sent.message_id not in ids
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            if process.stdout is not None:
                process.stdout.close()
        receiver.stop()


def test_text_postgresql_cannot_hold_is_a_bad_request(tmp_path: Path, postgres_url: str) -> None:
    running = start_sesame(tmp_path, database_url=postgres_url)
    try:
        ses = running.client()
        for call in (
            lambda: ses.create_contact_list(ContactListName="list", Description="a\x00b"),
            lambda: ses.put_suppressed_destination(EmailAddress="a\x00@x.com", Reason="BOUNCE"),
        ):
            with pytest.raises(ClientError) as caught:
                call()
            answer = caught.value.response
            assert answer["ResponseMetadata"]["HTTPStatusCode"] == 400
            assert answer["Error"] == {
                "Code": "BadRequestException",
                "Message": "Text values must not contain the NUL character (U+0000).",
            }
        ses.create_contact_list(ContactListName="list", Description="fine")
    finally:
        running.stop()
