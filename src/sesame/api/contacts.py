"""Contact lists, their topics, and contacts.

SES allows one contact list per account and 20 topics per list (SES developer
guide, "Using list management"). Error texts and a few behaviours follow what
Floci, an emulator that probes real SES, reports from real SES v2: creating a
second list is `BadRequestException` `A maximum of 1 Lists allowed per account.`
(a duplicate name included); names of lists and topics are up to 64 letters,
digits, `_` and `-`, checked on every operation before the lookup; a missing list
is `List with name: <name> doesn't exist.`; UpdateContact merges
`TopicPreferences` by topic name (those not sent stay) but replaces
`UnsubscribeAll` and `AttributesData` (left out: false, none). UpdateContactList
changes only the members sent. Contact addresses compare case-insensitively. For
every topic without the contact's own preference, `TopicDefaultPreferences`
answers the topic's `DefaultSubscriptionStatus`.

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
from sesame.api.policy import contact_list_missing, effective_status, topic_missing
from sesame.api.tags import check_tags
from sesame.protocol.errors import (
    AlreadyExistsException,
    BadRequestException,
    NotFoundException,
)
from sesame.store.base import Contact, ContactList, Duplicate, LimitReached, Missing, Store

MAX_CONTACT_LISTS = 1
MAX_TOPICS = 20
DEFAULT_PAGE_SIZE = 50


_NAME_RULE = (
    "can contain up to 64 characters. Only alphanumeric characters, underscores(_) and "
    "hyphens(-) are allowed."
)
MAX_DISPLAY_NAME = 128
MAX_DESCRIPTION = 500


def check_list_name(name: str) -> None:
    if not name.strip():
        raise BadRequestException("ContactListName can't be blank.")
    if not is_resource_name(name):
        raise BadRequestException(f"ContactListName {_NAME_RULE}")


def check_email(email: str) -> None:
    if not email.strip():
        raise BadRequestException("EmailAddress can't be blank.")
    if not is_email_address(email):
        raise BadRequestException(f"EmailAddress <{email}> is invalid")


def _check_list(topics: list[dict[str, Any]], description: str | None) -> None:
    if len(topics) > MAX_TOPICS:
        raise BadRequestException(f"Maximum of <{MAX_TOPICS}> topics allowed per ContactList")
    seen: set[str] = set()
    for topic in topics:
        name = topic["TopicName"]
        if not name.strip():
            raise BadRequestException("TopicName can't be blank.")
        if not is_resource_name(name):
            raise BadRequestException(f"TopicName {_NAME_RULE}")
        if len(topic["DisplayName"]) > MAX_DISPLAY_NAME:
            raise BadRequestException(
                f"Topic DisplayName can contain up to <{MAX_DISPLAY_NAME}> characters."
            )
        if name in seen:
            raise BadRequestException("Duplicate topic names are not allowed within a List.")
        seen.add(name)
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise BadRequestException(
            f"List description can contain up to {MAX_DESCRIPTION} characters."
        )


def _contact_missing(email: str) -> NotFoundException:
    return NotFoundException(f"{email} doesn't exist in List.")


class ContactsProvider:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def _list(self, name: str) -> ContactList:
        check_list_name(name)
        record = self.store.get_contact_list(name)
        if record is None:
            raise contact_list_missing(name)
        return record

    # Contact lists -----------------------------------------------------------
    @handles("CreateContactList")
    def create_contact_list(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ContactListName"]
        check_list_name(name)
        topics = request.get("Topics", [])
        _check_list(topics, request.get("Description"))
        tags = request.get("Tags", [])
        check_tags(tags)
        now = self.clock()
        record = ContactList(name, request.get("Description"), topics, tags, now, now)
        try:
            self.store.create_contact_list(record, limit=MAX_CONTACT_LISTS)
        except Duplicate:
            raise AlreadyExistsException(f"List with name: {name} already exists.") from None
        except LimitReached:
            raise BadRequestException(
                f"A maximum of {MAX_CONTACT_LISTS} Lists allowed per account."
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
        description = request.get("Description", record.description)
        _check_list(topics, description)
        if not self.store.update_contact_list(
            record.name, topics=topics, description=description, updated=self.clock()
        ):
            raise contact_list_missing(record.name)
        return {}

    @handles("DeleteContactList")
    def delete_contact_list(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        check_list_name(request["ContactListName"])
        if not self.store.delete_contact_list(request["ContactListName"]):
            raise contact_list_missing(request["ContactListName"])
        return {}

    # Contacts ------------------------------------------------------------------
    def _preferences(
        self,
        record: ContactList,
        given: list[dict[str, str]],
        existing: tuple[dict[str, str], ...] | list[dict[str, str]] = (),
    ) -> list[dict[str, str]]:
        """`existing` with `given` merged in by topic name (the last one sent wins)."""
        known = {topic["TopicName"] for topic in record.topics}
        for preference in given:
            if preference["TopicName"] not in known:
                raise topic_missing(record.name, preference["TopicName"])
        by_topic = {p["TopicName"]: dict(p) for p in [*existing, *given]}
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
        email = request["EmailAddress"]
        check_email(email)
        record = self._list(request["ContactListName"])
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
            raise AlreadyExistsException(f"{email} already exists in List.") from None
        return {}

    @handles("GetContact")
    def get_contact(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        check_email(request["EmailAddress"])
        record = self._list(request["ContactListName"])
        contact = self.store.get_contact(record.name, request["EmailAddress"])
        if contact is None:
            raise _contact_missing(request["EmailAddress"])
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
                raise topic_missing(record.name, topic_filter["TopicName"])
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
        check_email(request["EmailAddress"])
        record = self._list(request["ContactListName"])
        contact = self.store.get_contact(record.name, request["EmailAddress"])
        if contact is None:
            raise _contact_missing(request["EmailAddress"])
        preferences = self._preferences(
            record, request.get("TopicPreferences", []), contact.preferences
        )
        changed = Contact(
            record.name,
            contact.email,
            preferences,
            bool(request.get("UnsubscribeAll", False)),
            request.get("AttributesData"),
            contact.created,
            self.clock(),
        )
        if not self.store.save_contact(changed, []):
            raise contact_list_missing(record.name)
        return {}

    @handles("DeleteContact")
    def delete_contact(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        check_email(request["EmailAddress"])
        record = self._list(request["ContactListName"])
        if not self.store.delete_contact(record.name, request["EmailAddress"]):
            raise _contact_missing(request["EmailAddress"])
        return {}
