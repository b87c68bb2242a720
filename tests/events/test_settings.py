"""The publishing options as `sesame serve` reads them: flags, SESAME_* variables."""

from __future__ import annotations

import pytest

from sesame.cli import serve
from sesame.config import Settings, to_environment

A = "arn:aws:sns:us-east-1:123456789012:a"
B = "arn:aws:sns:us-east-1:123456789012:b"


def test_webhooks_from_repeated_flags_and_from_a_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    flags = ["--sns-webhook", f"{A}=http://one/", "--sns-webhook", f"{A}=https://two/x"]
    settings = Settings(**serve.make_context("serve", flags).params)
    assert settings.webhooks() == {A: ["http://one/", "https://two/x"]}
    monkeypatch.setenv("SESAME_SNS_WEBHOOKS", f"{A}=http://one/ {B}=http://three/")
    settings = Settings(**serve.make_context("serve", []).params)
    assert settings.webhooks() == {A: ["http://one/"], B: ["http://three/"]}
    # Worker processes get the same list back through the environment.
    assert to_environment(settings)["SESAME_SNS_WEBHOOKS"] == f"{A}=http://one/ {B}=http://three/"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sns_webhooks": ("no-equals-sign",)}, "--sns-webhook: want TOPIC_ARN=http(s)://URL"),
        ({"sns_webhooks": (f"{A}=ftp://x/",)}, "--sns-webhook: want TOPIC_ARN=http(s)://URL"),
        ({"publish_retry_seconds": 0}, "--publish-retry-seconds must be at least 1"),
        ({"publish_lease_seconds": 0}, "--publish-lease-seconds must be at least 1"),
        ({"machine_click_seconds": -1}, "--machine-click-seconds must not be negative"),
    ],
)
def test_bad_publishing_settings(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings(**options)  # type: ignore[arg-type]
