"""SigV4 verification against botocore's own signer: a request boto3 would sign passes, and each way of
forging or replaying one is refused with AWS's code."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mlops.api.errors import ApiError
from mlops.api.sigv4 import verify
from mlops.hosting.credentials import ControlCredentials

CREDS = ControlCredentials.generate()
NOW = datetime(2026, 12, 4, 19, 0, 0, tzinfo=UTC)
BODY = json.dumps({"TrainingJobName": "job-1"}).encode()


def sign(
    body: bytes = BODY,
    secret: str = CREDS.SecretAccessKey,
    service: str = "sagemaker",
    when: datetime = NOW,
    extra: dict[str, str] | None = None,
) -> list[tuple[bytes, bytes]]:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:8085/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "SageMaker.DescribeTrainingJob",
            **(extra or {}),
        },
    )
    signer = SigV4Auth(Credentials(CREDS.AccessKeyId, secret), service, "eu-west-1")
    request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Amz-Date"] = request.context["timestamp"]
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    headers = signer.headers_to_sign(request)
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, "
        f"SignedHeaders={signer.signed_headers(headers)}, Signature={signature}"
    )
    out = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    return [*out, (b"host", b"127.0.0.1:8085")]


def check(headers: list[tuple[bytes, bytes]], body: bytes = BODY, now: datetime = NOW) -> str:
    return verify(CREDS, "POST", "/", b"", headers, body, now)


def replace(headers: list[tuple[bytes, bytes]], name: bytes, value: bytes) -> list[tuple[bytes, bytes]]:
    return [(k, value if k == name else v) for k, v in headers]


def refused(headers: list[tuple[bytes, bytes]], body: bytes = BODY, now: datetime = NOW) -> str:
    with pytest.raises(ApiError) as e:
        check(headers, body, now)
    assert e.value.status == 403
    return e.value.code


def test_a_request_signed_with_the_homes_pair_passes_and_names_its_region() -> None:
    assert check(sign()) == "eu-west-1"
    assert check(sign(), now=NOW + timedelta(minutes=14)) == "eu-west-1"


def test_unsigned_and_malformed() -> None:
    unsigned = [(k, v) for k, v in sign() if k != b"authorization"]
    assert refused(unsigned) == "MissingAuthenticationTokenException"
    assert refused(replace(sign(), b"authorization", b"Bearer abc")) == "IncompleteSignatureException"
    assert refused(replace(sign(), b"authorization", b"AWS4-HMAC-SHA256 Credential=x")) == (
        "IncompleteSignatureException"
    )


def test_forgeries_are_refused() -> None:
    assert refused(sign(secret="x" * 40)) == "InvalidSignatureException"
    assert refused(sign(), body=json.dumps({"TrainingJobName": "job-2"}).encode()) == "InvalidSignatureException"
    swapped = replace(sign(), b"x-amz-target", b"SageMaker.StopTrainingJob")
    assert refused(swapped) == "InvalidSignatureException"
    assert refused(sign(service="s3")) == "InvalidSignatureException"
    other = replace(
        sign(),
        b"authorization",
        dict(sign())[b"authorization"].replace(CREDS.AccessKeyId.encode(), b"AKIAAAAAAAAAAAAAAAAA"),
    )
    assert refused(other) == "UnrecognizedClientException"


def test_a_claimed_body_hash_must_be_the_bodys() -> None:
    lying = sign(extra={"X-Amz-Content-SHA256": hashlib.sha256(b"{}").hexdigest()})
    assert refused(lying) == "InvalidSignatureException"
    honest = sign(extra={"X-Amz-Content-SHA256": hashlib.sha256(BODY).hexdigest()})
    assert check(honest) == "eu-west-1"


def test_target_and_host_must_be_signed() -> None:
    headers = sign()
    auth = dict(headers)[b"authorization"].replace(b"x-amz-target;", b"").replace(b";x-amz-target", b"")
    assert refused(replace(headers, b"authorization", auth)) == "InvalidSignatureException"


def test_an_old_or_future_signature_is_expired() -> None:
    assert refused(sign(), now=NOW + timedelta(minutes=16)) == "InvalidSignatureException"
    assert refused(sign(), now=NOW - timedelta(minutes=16)) == "InvalidSignatureException"
