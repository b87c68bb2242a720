"""The inbox in a real browser (headless Chromium driven by Playwright).

Mail is sent with boto3 while the page is open; the page shows it without a
reload; the message view renders the HTML sandboxed, and a click on a tracked
link in the preview shows up in the timeline. Every wait is on something the
page shows (Playwright's expect, with a timeout), never a sleep.

The README's screenshots (docs/inbox-list.png, docs/inbox-message.png) are taken
here on every run; they are written to docs/ when missing or when
SESAME_SCREENSHOTS=1 (`make screenshots`), so an ordinary test run leaves the
checkout clean (the images hold times, ids and ports that change every run).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from harness import RunningSesame

DOCS = Path(__file__).resolve().parents[2] / "docs"
SET = "newsletters"


def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """Take the README screenshot `name`; keep it in docs/ when missing or asked for."""
    image = page.screenshot(full_page=full_page)
    assert image.startswith(b"\x89PNG"), "the browser did not produce a PNG"
    target = DOCS / name
    if os.environ.get("SESAME_SCREENSHOTS") == "1" or not target.exists():
        DOCS.mkdir(exist_ok=True)
        target.write_bytes(image)


@pytest.fixture(scope="module")
def ready(inbox_server: RunningSesame) -> RunningSesame:
    """A domain and a configuration set whose mail is tracked (links point at the server)."""
    client = inbox_server.client()
    client.create_email_identity(EmailIdentity="shop.example.com")
    client.create_configuration_set(ConfigurationSetName=SET)
    client.create_configuration_set_event_destination(
        ConfigurationSetName=SET,
        EventDestinationName="engagement",
        EventDestination={
            "Enabled": True,
            "MatchingEventTypes": ["SEND", "DELIVERY", "OPEN", "CLICK"],
            "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:engagement"},
        },
    )
    return inbox_server


def send(server: RunningSesame, subject: str, html: str, to: str = "reader@example.org") -> str:
    client: Any = server.client()
    answer = client.send_email(
        FromEmailAddress="news@shop.example.com",
        Destination={"ToAddresses": [to]},
        Content={
            "Simple": {
                "Subject": {"Data": subject},
                "Body": {
                    "Text": {"Data": f"{subject}\n\nRead it at https://shop.example.com/"},
                    "Html": {"Data": html},
                },
            }
        },
        ConfigurationSetName=SET,
        EmailTags=[{"Name": "campaign", "Value": "spring"}],
    )
    return str(answer["MessageId"])


def spring_html(server: RunningSesame) -> str:
    return (
        '<html><body style="font-family: sans-serif"><h1>Spring is here</h1>'
        "<p>Our spring collection has arrived.</p>"
        f'<p><a href="{server.url}/_sesame/identities" ses:tags="place:button;">'
        "See the collection</a></p>"
        '<p><a href="https://shop.example.com/sale" ses:tags="place:footer;">Sale</a> · '
        '<a ses:no-track href="https://shop.example.com/unsubscribe">Unsubscribe</a></p>'
        f'<img src="{server.url}/_sesame/static/sesame.svg?remote" alt="banner">'
        "<script>parent.document.body.dataset.pwned = 'yes'</script>"
        "</body></html>"
    )


def test_mail_appears_live_and_a_click_in_the_preview_reaches_the_timeline(
    ready: RunningSesame, page: Page
) -> None:
    loaded: list[str] = []
    blocked: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))
    page.on("requestfailed", lambda r: blocked.append(r.url) if r.failure == "csp" else None)
    page.goto(f"{ready.url}/_sesame/")
    expect(page.get_by_role("heading", name="No mail yet")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-live", "connected")
    page.evaluate("window.notReloaded = true")

    send(
        ready, "Welcome aboard", "<p>Hello and <a href='https://shop.example.com/'>welcome</a></p>"
    )
    send(ready, "Your invoice", "<p>Invoice attached.</p>", to="billing@example.org")
    spring = send(ready, "Spring collection", spring_html(ready))

    rows = page.locator("table.messages tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Spring collection")  # newest first
    expect(rows.first.locator(".badge", has_text="delivered")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True, "the page reloaded"
    screenshot(page, "inbox-list.png")

    page.get_by_role("link", name="Spring collection").click()
    expect(page).to_have_url(re.compile(f"/_sesame/messages/{spring}$"))
    links = page.locator("table.links tbody tr")
    expect(links).to_have_count(2)
    expect(links.first).to_contain_text("See the collection")
    expect(links.first).to_contain_text("place: button")
    expect(links.first.locator(".clicks")).to_have_text("0")
    page.evaluate("window.notReloaded = true")

    preview = page.frame_locator("iframe.preview")
    expect(preview.get_by_role("heading", name="Spring is here")).to_be_visible()
    with page.context.expect_page() as opened:
        preview.get_by_role("link", name="See the collection").click()
    opened.value.close()

    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li.click")).to_have_count(1)
    expect(timeline.locator("li.click")).to_contain_text(f"{ready.url}/_sesame/identities")
    expect(links.first.locator(".clicks")).to_have_text("1")
    assert page.evaluate("window.notReloaded") is True, "the page reloaded"

    # The HTML is sandboxed: its script did not run; the remote image and the open
    # pixel were blocked by the frame's Content-Security-Policy, so no Open either.
    assert page.evaluate("document.body.dataset.pwned") is None
    assert not [url for url in loaded if "?remote" in url or "/I0/" in url]
    assert any(url.endswith("?remote") for url in blocked)
    assert not timeline.locator("li.open").count()
    screenshot(page, "inbox-message.png", full_page=True)


def test_remote_images_load_only_when_asked(ready: RunningSesame, page: Page) -> None:
    message_id = send(ready, "Pictures", spring_html(ready))
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))
    page.goto(f"{ready.url}/_sesame/messages/{message_id}")
    expect(page.frame_locator("iframe.preview").get_by_role("heading")).to_have_text(
        "Spring is here"
    )
    assert not [url for url in loaded if url.endswith("?remote")]
    with page.expect_response(re.compile(r"\?remote$")):
        page.get_by_role("link", name="Show remote images").click()
    expect(page.get_by_role("link", name="Block remote images")).to_be_visible()
    # With images on, the open pixel loads too, and the Open shows in the timeline.
    expect(page.locator("ol.timeline li.open")).to_have_count(1)


def test_keyboard_search_and_open(ready: RunningSesame, page: Page) -> None:
    send(ready, "Keyboard only", "<p>typed</p>", to="keys@example.org")
    page.goto(f"{ready.url}/_sesame/")
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("to:keys@")
    page.keyboard.press("Enter")
    expect(page.locator("table.messages tbody tr")).to_have_count(1)
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="Keyboard only")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard only")


def test_narrow_screen_has_no_sideways_scrolling(ready: RunningSesame, browser: Browser) -> None:
    message_id = send(ready, "A narrow look at a rather long subject line", spring_html(ready))
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        narrow = context.new_page()
        for path in ("", f"messages/{message_id}", "configuration-sets", "identities"):
            narrow.goto(f"{ready.url}/_sesame/{path}")
            expect(narrow.locator("main")).to_be_visible()
            overflow = narrow.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"/_sesame/{path} scrolls sideways by {overflow}px"
    finally:
        context.close()


def test_delete_from_the_message_view(ready: RunningSesame, page: Page) -> None:
    message_id = send(ready, "Delete me", "<p>bye</p>")
    page.goto(f"{ready.url}/_sesame/messages/{message_id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/_sesame/$"))
    expect(page.get_by_role("link", name="Delete me")).to_have_count(0)
    assert ready.app.store.get_message(message_id) is None
