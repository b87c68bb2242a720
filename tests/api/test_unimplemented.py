"""Every operation of the model Sesame does not implement answers the same AWS-shaped error."""

from __future__ import annotations

from typing import Any

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from sesame.api import implemented_operations
from sesame.protocol.model import operation, operation_names

from examples import example_input

NOT_IMPLEMENTED = sorted(set(operation_names()) - implemented_operations())


def test_some_operations_remain_to_do() -> None:
    # If this fails, everything is implemented: delete this file with a smile.
    assert NOT_IMPLEMENTED


@pytest.mark.parametrize("name", NOT_IMPLEMENTED)
def test_unimplemented_operation_answers_not_implemented(ses: Any, name: str) -> None:
    # Only required members, so no member needs anything beyond plain SigV4.
    params = example_input(operation(name), variant=1)
    with pytest.raises(ClientError) as caught:
        getattr(ses, xform_name(name))(**params)
    error = caught.value.response
    assert error["Error"]["Code"] == "NotImplementedException"
    assert error["Error"]["Message"] == f"Sesame does not implement the {name} operation yet."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
