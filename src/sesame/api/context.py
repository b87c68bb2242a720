"""What a provider method knows about the request it serves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestContext:
    #: The id answered in `x-amzn-RequestId`.
    request_id: str
    #: The operation's model name, e.g. "PutConfigurationSetTrackingOptions".
    operation: str
    #: The 12-digit account every resource of this Sesame belongs to.
    account_id: str
    #: The region of the SigV4 credential scope (always Sesame's own region).
    region: str
    #: The access key id the request was signed with.
    access_key_id: str
    #: The client's address (used later for the `ses:source-ip` tag).
    source_ip: str

    def arn(self, resource: str) -> str:
        """`arn:aws:ses:<region>:<account>:<resource>`."""
        return f"arn:aws:ses:{self.region}:{self.account_id}:{resource}"
