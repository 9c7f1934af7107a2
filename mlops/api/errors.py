"""SageMaker's errors on the wire: ``{"__type": CODE, "message": TEXT}``, which botocore's JSON error
parser turns into a ``ClientError`` whose ``response["Error"]["Code"]`` is CODE."""

from __future__ import annotations

import json

CONTENT_TYPE = b"application/x-amz-json-1.1"


class ApiError(Exception):
    """A refusal in SageMaker's error shape: 400 for a bad request, 403 for authentication."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> bytes:
        return json.dumps({"__type": self.code, "message": self.message}).encode()


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def not_found() -> ApiError:
    """What SageMaker answers for a training job that does not exist (a ValidationException, not the
    ResourceNotFound its service model lists)."""
    return ApiError("ValidationException", "Requested resource not found.")
