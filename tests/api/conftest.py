"""Fixtures the API behaviour tests share."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def domain(ses: Any, unique: str) -> str:
    """A verified domain identity (the shared server verifies on creation)."""
    name = f"{unique}.example.com"
    ses.create_email_identity(EmailIdentity=name)
    return name


@pytest.fixture
def configuration_set(ses: Any, unique: str) -> str:
    """An empty configuration set named `unique`."""
    ses.create_configuration_set(ConfigurationSetName=unique)
    return unique
