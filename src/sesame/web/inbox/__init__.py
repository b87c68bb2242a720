"""The web inbox under /_sesame/: messages, their tracking and events, settings."""

from __future__ import annotations

from sesame.web.inbox.access import Access
from sesame.web.inbox.endpoint import Inbox, is_inbox_path
from sesame.web.inbox.http import PREFIX

__all__ = ["PREFIX", "Access", "Inbox", "is_inbox_path"]
