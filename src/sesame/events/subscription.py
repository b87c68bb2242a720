"""The Subscription event: a contact changed its list preferences (an unsubscribe).

Shape per the SES developer guide (event publishing contents, `subscription`
object; ses-spec.md §5.6): `contactList`, `timestamp`, `source` (what made the
change; `UnsubscribeHeader` for the List-Unsubscribe URL), and
`newTopicPreferences` / `oldTopicPreferences`, each `{unsubscribeAll,
topicSubscriptionStatus: [{topicName, subscriptionStatus OptIn|OptOut}]}` over
the list's topics (a topic without the contact's own preference shows its
default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sesame.events.records import event, iso
from sesame.store.base import Contact, ContactList, Event

_STATUS = {"OPT_IN": "OptIn", "OPT_OUT": "OptOut"}


def preferences(contact_list: ContactList, contact: Contact | None) -> dict[str, Any]:
    own = {
        p["TopicName"]: p["SubscriptionStatus"] for p in (contact.preferences if contact else [])
    }
    return {
        "unsubscribeAll": bool(contact and contact.unsubscribe_all),
        "topicSubscriptionStatus": [
            {
                "topicName": topic["TopicName"],
                "subscriptionStatus": _STATUS[
                    own.get(topic["TopicName"], topic["DefaultSubscriptionStatus"])
                ],
            }
            for topic in contact_list.topics
        ],
    }


def subscription(
    mail: Mapping[str, Any],
    *,
    happened: float,
    contact_list: ContactList,
    old: Contact | None,
    new: Contact,
    source: str,
    configuration_set: str | None,
) -> Event:
    detail = {
        "contactList": contact_list.name,
        "timestamp": iso(happened),
        "source": source,
        "newTopicPreferences": preferences(contact_list, new),
        "oldTopicPreferences": preferences(contact_list, old),
    }
    return event(
        mail,
        "Subscription",
        "subscription",
        detail,
        happened=happened,
        configuration_set=configuration_set,
    )
