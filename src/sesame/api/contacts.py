"""Contact lists, their topics, and contacts.

SES allows one contact list per account and 20 topics per list (SES developer
guide, "Using list management"); more is a LimitExceededException. Topic names
are unique within a list. Update* operations change only the members sent.
A contact's `TopicPreferences` may only name topics of its list; for every other
topic `TopicDefaultPreferences` answers the topic's `DefaultSubscriptionStatus`.
Contact addresses compare case-insensitively.

ListContacts' `Filter`: with a `TopicFilter`, a contact matches when its status
for that topic is `FilteredStatus` (a contact that unsubscribed from everything
is OPT_OUT of every topic; without an explicit preference the topic's default
counts only when `UseDefaultIfPreferenceUnavailable` is true); without one,
OPT_OUT matches contacts that unsubscribed from everything and OPT_IN the
others. Pages are in address order, 50 by default, 1 to 1000.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import handles
from sesame.api.names import is_email_address, is_resource_name
from sesame.api.paging import decode_token, encode_token, page_size
from sesame.api.policy import contact_list_missing, effective_status
from sesame.api.tags import check_tags
from sesame.protocol.errors import (
    AlreadyExistsException,
    BadRequestException,
    LimitExceededException,
    NotFoundException,
)
from sesame.store.base import Contact, ContactList, Duplicate, LimitReached, Missing, Store

MAX_CONTACT_LISTS = 1
MAX_TOPICS = 20
DEFAULT_PAGE_SIZE = 50


def _check_topics(topics: list[dict[str, Any]]) -> None:
    if len(topics) > MAX_TOPICS:
        raise LimitExceededException(f"A contact list can have at most {MAX_TOPICS} topics.")
    names = [topic["TopicName"] for topic in topics]
    for name in names:
        if not is_resource_name(name):
            raise BadRequestException(f"Invalid topic name <{name}>.")
    if len(set(names)) != len(names):
        raise BadRequestException("Topic names must be unique within a contact list.")


def _contact_missing(email: str, list_name: str) -> NotFoundException:
    return NotFoundException(f"Contact {email} does not exist in list {list_name}.")


class ContactsProvider:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def _list(self, name: str) -> ContactList:
        record = self.store.get_contact_list(name)
        if record is None:
            raise contact_list_missing(name)
        return record

    # Contact lists -----------------------------------------------------------
    @handles("CreateContactList")
    def create_contact_list(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ContactListName"]
        if not is_resource_name(name):
            raise BadRequestException(f"Invalid contact list name <{name}>.")
        topics = request.get("Topics", [])
        _check_topics(topics)
        tags = request.get("Tags", [])
        check_tags(tags)
        now = self.clock()
        record = ContactList(name, request.get("Description"), topics, tags, now, now)
        try:
            self.store.create_contact_list(record, limit=MAX_CONTACT_LISTS)
        except Duplicate:
            raise AlreadyExistsException(f"List with name {name} already exists.") from None
        except LimitReached:
            raise LimitExceededException(
                f"Maximum number of contact lists ({MAX_CONTACT_LISTS}) reached."
            ) from None
        return {}

    @handles("GetContactList")
    def get_contact_list(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._list(request["ContactListName"])
        answer: dict[str, Any] = {"ContactListName": record.name, "Topics": record.topics}
        if record.description is not None:
            answer["Description"] = record.description
        answer |= {
            "CreatedTimestamp": record.created,
            "LastUpdatedTimestamp": record.updated,
            "Tags": record.tags,
        }
        return answer

    @handles("ListContactLists")
    def list_contact_lists(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        limit = page_size(request.get("PageSize"), DEFAULT_PAGE_SIZE)
        after = decode_token(request.get("NextToken"))
        found = self.store.list_contact_lists(after=after, limit=limit + 1)
        answer: dict[str, Any] = {
            "ContactLists": [
                {"ContactListName": r.name, "LastUpdatedTimestamp": r.updated}
                for r in found[:limit]
            ]
        }
        if len(found) > limit:
            answer["NextToken"] = encode_token(found[limit - 1].name)
        return answer

    @handles("UpdateContactList")
    def update_contact_list(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._list(request["ContactListName"])
        topics = request.get("Topics", record.topics)
        _check_topics(topics)
        description = request.get("Description", record.description)
        if not self.store.update_contact_list(
            record.name, topics=topics, description=description, updated=self.clock()
        ):
            raise contact_list_missing(record.name)
        return {}

    @handles("DeleteContactList")
    def delete_contact_list(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        if not self.store.delete_contact_list(request["ContactListName"]):
            raise contact_list_missing(request["ContactListName"])
        return {}

    # Contacts ------------------------------------------------------------------
    def _preferences(
        self, record: ContactList, given: list[dict[str, str]]
    ) -> list[dict[str, str]]:
        known = {topic["TopicName"] for topic in record.topics}
        for preference in given:
            if preference["TopicName"] not in known:
                raise BadRequestException(
                    f"Topic {preference['TopicName']} does not exist in list {record.name}."
                )
        # One preference per topic: the last one sent wins.
        by_topic = {p["TopicName"]: dict(p) for p in given}
        return list(by_topic.values())

    def _describe(self, record: ContactList, contact: Contact) -> dict[str, Any]:
        own = {p["TopicName"] for p in contact.preferences}
        return {
            "EmailAddress": contact.email,
            "TopicPreferences": contact.preferences,
            "TopicDefaultPreferences": [
                {"TopicName": t["TopicName"], "SubscriptionStatus": t["DefaultSubscriptionStatus"]}
                for t in record.topics
                if t["TopicName"] not in own
            ],
            "UnsubscribeAll": contact.unsubscribe_all,
        }

    @handles("CreateContact")
    def create_contact(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._list(request["ContactListName"])
        email = request["EmailAddress"]
        if not is_email_address(email):
            raise BadRequestException(f"Invalid email address <{email}>.")
        preferences = self._preferences(record, request.get("TopicPreferences", []))
        now = self.clock()
        contact = Contact(
            record.name,
            email,
            preferences,
            bool(request.get("UnsubscribeAll", False)),
            request.get("AttributesData"),
            now,
            now,
        )
        try:
            self.store.create_contact(contact)
        except Missing:
            raise contact_list_missing(record.name) from None
        except Duplicate:
            raise AlreadyExistsException(
                f"Contact {email} already exists in list {record.name}."
            ) from None
        return {}

    @handles("GetContact")
    def get_contact(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._list(request["ContactListName"])
        contact = self.store.get_contact(record.name, request["EmailAddress"])
        if contact is None:
            raise _contact_missing(request["EmailAddress"], record.name)
        answer = {"ContactListName": record.name} | self._describe(record, contact)
        if contact.attributes is not None:
            answer["AttributesData"] = contact.attributes
        answer |= {
            "CreatedTimestamp": contact.created,
            "LastUpdatedTimestamp": contact.updated,
        }
        return answer

    @handles("ListContacts")
    def list_contacts(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._list(request["ContactListName"])
        limit = page_size(request.get("PageSize"), DEFAULT_PAGE_SIZE)
        wanted = request.get("Filter", {})
        topic_filter = wanted.get("TopicFilter")
        topic: dict[str, Any] | None = None
        if topic_filter is not None and "TopicName" in topic_filter:
            topic = next(
                (t for t in record.topics if t["TopicName"] == topic_filter["TopicName"]), None
            )
            if topic is None:
                raise BadRequestException(
                    f"Topic {topic_filter['TopicName']} does not exist in list {record.name}."
                )
        scope = json.dumps([record.name, wanted], sort_keys=True, default=str)
        after = decode_token(request.get("NextToken"), scope)
        matched: list[Contact] = []
        more = False
        while True:
            batch = self.store.list_contacts(record.name, after=after, limit=500)
            for contact in batch:
                if self._matches(contact, wanted.get("FilteredStatus"), topic, topic_filter):
                    if len(matched) == limit:
                        more = True
                        break
                    matched.append(contact)
            if more or len(batch) < 500:
                break
            after = batch[-1].email.lower()
        answer: dict[str, Any] = {
            "Contacts": [
                self._describe(record, c) | {"LastUpdatedTimestamp": c.updated} for c in matched
            ]
        }
        if more:
            answer["NextToken"] = encode_token(matched[-1].email.lower(), scope)
        return answer

    @staticmethod
    def _matches(
        contact: Contact,
        status: str | None,
        topic: dict[str, Any] | None,
        topic_filter: dict[str, Any] | None,
    ) -> bool:
        if topic is None:
            if status is None:
                return True
            return (status == "OPT_OUT") == contact.unsubscribe_all
        own = any(p["TopicName"] == topic["TopicName"] for p in contact.preferences)
        use_default = bool((topic_filter or {}).get("UseDefaultIfPreferenceUnavailable"))
        if not own and not contact.unsubscribe_all and not use_default:
            return False
        return status is None or effective_status(contact, topic) == status

    @handles("UpdateContact")
    def update_contact(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._list(request["ContactListName"])
        contact = self.store.get_contact(record.name, request["EmailAddress"])
        if contact is None:
            raise _contact_missing(request["EmailAddress"], record.name)
        preferences = contact.preferences
        if "TopicPreferences" in request:
            preferences = self._preferences(record, request["TopicPreferences"])
        changed = Contact(
            record.name,
            contact.email,
            preferences,
            bool(request.get("UnsubscribeAll", contact.unsubscribe_all)),
            request.get("AttributesData", contact.attributes),
            contact.created,
            self.clock(),
        )
        if not self.store.save_contact(changed, []):
            raise contact_list_missing(record.name)
        return {}

    @handles("DeleteContact")
    def delete_contact(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        record = self._list(request["ContactListName"])
        if not self.store.delete_contact(record.name, request["EmailAddress"]):
            raise _contact_missing(request["EmailAddress"], record.name)
        return {}
