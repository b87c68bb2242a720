"""The account: GetAccount and the PutAccount* operations.

One Sesame is one account in one region. Its quotas come from
`--max-send-rate` and `--max-24h-send` (-1, the default, is unlimited, as SES
writes an unlimited `Max24HourSend`); `SentLast24Hours` counts recipients over
the sliding 24 hours before the call, exactly (the sending ledger, one row per
accepted message), as the daily quota counts them: the mailbox simulator's are
left out. Settings the PutAccount* operations change are stored as
blocks and answered back:

- `SendingEnabled` (PutAccountSendingAttributes): true until set; `{}` turns
  sending off, as every other Put* with a missing boolean does in Sesame.
- `SuppressionAttributes` (PutAccountSuppressionAttributes): BOUNCE and COMPLAINT
  until set (SES's default since November 2019); a PUT replaces the block, so a
  PUT without reasons turns the account-level list off.
- `Details` (PutAccountDetails): as sent; asking for production access is
  granted at once (`ReviewDetails.Status` GRANTED): a self-hosted account has no
  sandbox, so `ProductionAccessEnabled` is always true.
- `VdmAttributes` (PutAccountVdmAttributes): as sent; `VdmEnabled` DISABLED until
  set. Engagement metrics ENABLED (with VDM enabled) turn on open and click
  tracking for every message whose configuration set does not say otherwise,
  and for messages with no configuration set (api/engagement.py).

`EnforcementStatus` is HEALTHY and `DedicatedIpAutoWarmupEnabled` false: no
reputation review or dedicated IPs here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import handles
from sesame.api.policy import DAY_SECONDS
from sesame.store.base import Store
from sesame.suppression import DEFAULT_REASONS

_DETAILS = (
    "MailType",
    "WebsiteURL",
    "ContactLanguage",
    "UseCaseDescription",
    "AdditionalContactEmailAddresses",
)


class AccountProvider:
    def __init__(
        self,
        store: Store,
        *,
        max_send_rate: float = -1,
        max_24h_send: float = -1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.max_send_rate = float(max_send_rate)
        self.max_24h_send = float(max_24h_send)
        self.clock = clock

    @handles("GetAccount")
    def get_account(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        settings = self.store.account_settings()
        sent = self.store.recipients_sent_since(self.clock() - DAY_SECONDS)
        answer: dict[str, Any] = {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": True,
            "SendQuota": {
                "Max24HourSend": self.max_24h_send,
                "MaxSendRate": self.max_send_rate,
                "SentLast24Hours": float(sent),
            },
            "SendingEnabled": settings.get("SendingEnabled", True),
            "SuppressionAttributes": settings.get(
                "SuppressionAttributes", {"SuppressedReasons": list(DEFAULT_REASONS)}
            ),
            "VdmAttributes": settings.get("VdmAttributes", {"VdmEnabled": "DISABLED"}),
        }
        if "Details" in settings:
            answer["Details"] = settings["Details"]
        return answer

    @handles("PutAccountSendingAttributes")
    def put_sending(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self.store.put_account_setting("SendingEnabled", bool(request.get("SendingEnabled")))
        return {}

    @handles("PutAccountSuppressionAttributes")
    def put_suppression(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        block: dict[str, Any] = {
            "SuppressedReasons": list(dict.fromkeys(request.get("SuppressedReasons", [])))
        }
        if "ValidationAttributes" in request:
            block["ValidationAttributes"] = request["ValidationAttributes"]
        self.store.put_account_setting("SuppressionAttributes", block)
        return {}

    @handles("PutAccountDetails")
    def put_details(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        details = {key: request[key] for key in _DETAILS if key in request}
        if request.get("ProductionAccessEnabled"):
            details["ReviewDetails"] = {"Status": "GRANTED", "CaseId": str(uuid.uuid4())}
        self.store.put_account_setting("Details", details)
        return {}

    @handles("PutAccountVdmAttributes")
    def put_vdm(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self.store.put_account_setting("VdmAttributes", request["VdmAttributes"])
        return {}
