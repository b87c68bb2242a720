"""The botocore `sesv2` service model, loaded once.

The model is the single source of truth for the wire: which operations exist,
their HTTP bindings, input and output shapes, constraints and error statuses.
"""

from __future__ import annotations

from functools import cache

import botocore
import botocore.session
from botocore.model import OperationModel, ServiceModel

SERVICE_NAME = "sesv2"


@cache
def service_model() -> ServiceModel:
    """Return the pinned botocore's sesv2 model (loaded on first use)."""
    session = botocore.session.Session()
    return session.get_service_model(SERVICE_NAME)


@cache
def operation(name: str) -> OperationModel:
    """Return the operation model called `name` (KeyError-free: botocore raises)."""
    return service_model().operation_model(name)


def operation_names() -> list[str]:
    """All operation names of the model, sorted."""
    return sorted(service_model().operation_names)


def botocore_version() -> str:
    return str(botocore.__version__)
