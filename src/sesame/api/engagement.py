"""Whether a message is tracked, and the URLs its pixel and links point to.

When tracking applies (ses-spec.md §5.1): the message goes through a
configuration set with an enabled event destination matching OPEN (for the
pixel) or CLICK (for links), or with VDM engagement metrics enabled; a
per-message `ConfigurationOverrides.Tracking` turns either off (or on) for that
message. No configuration set and no account-level VDM engagement metrics:
no tracking.

Where the URLs point (§4.2): the set's `CustomRedirectDomain`, else the default
tracking host. The scheme follows `HttpsPolicy`: OPTIONAL or none → the pixel
over http and each link keeps its own scheme; REQUIRE → https for both;
REQUIRE_OPEN_ONLY → the pixel over https, links keep their scheme. The default
tracking host, when it is Sesame's own listener (no `--tracking-domain`), is
plain http for everything, so the links work on a developer's machine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sesame.mail.tokens import Keyring, click_path, open_path
from sesame.mail.tracking import Link


@dataclass(frozen=True, slots=True)
class Tracking:
    opens: bool
    clicks: bool
    host: str
    policy: str | None
    #: False for Sesame's own listener used as the tracking host: http only.
    secure_capable: bool = True

    def pixel_url(self, keyring: Keyring, message_id: str) -> str:
        https = self.secure_capable and self.policy in ("REQUIRE", "REQUIRE_OPEN_ONLY")
        scheme = "https" if https else "http"
        return f"{scheme}://{self.host}{open_path(keyring, message_id)}"

    def click_url(self, keyring: Keyring, message_id: str) -> Callable[[Link], str]:
        def url(link: Link) -> str:
            if not self.secure_capable:
                scheme = "http"
            elif self.policy == "REQUIRE":
                scheme = "https"
            else:
                # A tracked link matched tracking._TRACKABLE (`https?://…`, URI
                # characters only), so its scheme is what precedes the first colon.
                scheme = link.url[: link.url.index(":")].lower()
            return f"{scheme}://{self.host}{click_path(keyring, message_id, link.index, link.url)}"

        return url


def engagement_enabled(account: Mapping[str, Any]) -> bool:
    """The account's VDM engagement metrics are on (PutAccountVdmAttributes with VDM
    and its dashboard's EngagementMetrics both ENABLED)."""
    vdm = account.get("VdmAttributes", {})
    dashboard = vdm.get("DashboardAttributes", {})
    return bool(
        vdm.get("VdmEnabled") == "ENABLED" and dashboard.get("EngagementMetrics") == "ENABLED"
    )


def decide(
    configuration_set: Mapping[str, Any] | None,
    destinations: list[Mapping[str, Any]],
    overrides: Mapping[str, str] | None,
    *,
    default_host: str,
    default_host_is_listener: bool,
    account_engagement: bool = False,
) -> Tracking | None:
    """The tracking for one message, or None when nothing is tracked.

    `account_engagement`: the account's VDM engagement metrics are enabled
    (PutAccountVdmAttributes); a message is then tracked even without a
    configuration set (pass `{}`), unless its set says `EngagementMetrics`
    DISABLED: a set's own VDM setting overrides the account's (CDK documents
    "not configured at the set level ⇒ the account setting applies")."""
    if configuration_set is None:
        return None
    wanted = {
        kind
        for destination in destinations
        if destination.get("Enabled")
        for kind in destination.get("MatchingEventTypes", [])
    }
    vdm = configuration_set.get("VdmOptions", {}).get("DashboardOptions", {})
    engagement = (
        vdm.get("EngagementMetrics", "ENABLED" if account_engagement else None) == "ENABLED"
    )
    opens = engagement or "OPEN" in wanted
    clicks = engagement or "CLICK" in wanted
    overrides = overrides or {}
    if "OpenTrackingEnabled" in overrides:
        opens = overrides["OpenTrackingEnabled"] == "ENABLED"
    if "ClickTrackingEnabled" in overrides:
        clicks = overrides["ClickTrackingEnabled"] == "ENABLED"
    if not (opens or clicks):
        return None
    options = configuration_set.get("TrackingOptions")
    if options:
        return Tracking(opens, clicks, options["CustomRedirectDomain"], options.get("HttpsPolicy"))
    return Tracking(opens, clicks, default_host, None, secure_capable=not default_host_is_listener)
