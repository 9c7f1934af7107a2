"""botocore's own service model for ``sagemaker``: what an operation takes (validated with
``botocore.validate.ParamValidator``, as a client with parameter validation on would) and what it
answers (records projected onto the output shape, so an answer holds only members botocore knows, in
the JSON protocol's types)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator

from mlops.api.errors import ApiError, validation

SERVICE = "sagemaker"


@cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model(SERVICE)


def operation_model(name: str) -> OperationModel:
    return service_model().operation_model(name)


def known_operations() -> frozenset[str]:
    return frozenset(service_model().operation_names)


def validate_input(operation: str, params: Any) -> None:
    """A ValidationException naming each bad field (missing, unknown, wrong type, out of range)."""
    if not isinstance(params, dict):
        raise validation("the request body must be a JSON object")
    report = ParamValidator().validate(params, operation_model(operation).input_shape)
    if report.has_errors():
        raise ApiError("ValidationException", report.generate_report())


def project(value: Any, shape: Shape) -> Any:
    """``value`` (plain JSON-ready data, datetimes allowed) reduced to what ``shape`` describes: members
    the shape does not name are dropped, timestamps become epoch seconds, None is left out."""
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        return {
            name: project(item, members[name]) for name, item in value.items() if name in members and item is not None
        }
    if kind == "list":
        return [project(item, shape.member) for item in value]
    if kind == "map":
        return {str(k): project(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, int | float):
            return value
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return when.timestamp()
    return value


def answer(operation: str, value: dict[str, Any]) -> dict[str, Any]:
    shape = operation_model(operation).output_shape
    return project(value, shape) if shape is not None else {}
