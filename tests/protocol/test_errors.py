"""The error classes agree with the model's error shapes."""

from __future__ import annotations

import pytest

from sesame.protocol import errors
from sesame.protocol.model import service_model


def _modelled_shapes() -> list[str]:
    model = service_model()
    return sorted(n for n in model.shape_names if model.shape_for(n).metadata.get("exception"))


def test_one_class_per_modelled_error() -> None:
    assert sorted(cls.code for cls in errors.MODELLED_ERRORS) == _modelled_shapes()


@pytest.mark.parametrize("cls", errors.MODELLED_ERRORS, ids=lambda c: c.code)
def test_status_matches_the_model(cls: type[errors.ServiceError]) -> None:
    shape = service_model().shape_for(cls.code)
    assert cls.status == shape.metadata["error"]["httpStatusCode"]
    assert cls.__name__ == cls.code
