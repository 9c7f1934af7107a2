"""SigV4 verification of an incoming request against the home's key pair, with botocore's own signer.

The ``Authorization`` header names a credential scope (key id, date, region, service) and the headers
that were signed. The canonical request is rebuilt from the method, path, query, those headers (and
only those) and the body, signed by ``botocore.auth.SigV4Auth`` with the home's secret for the named
region and the ``sagemaker`` service, and compared with the sent signature in constant time. The
request's ``X-Amz-Date`` must be within 15 minutes of now (as AWS), and ``host``, ``x-amz-date``,
``x-amz-target`` and ``content-type`` must be among the signed headers, so none of them can be swapped
under a signature made for another request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mlops.api.errors import ApiError
from mlops.hosting.credentials import ControlCredentials

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "sagemaker"
MAX_SKEW = timedelta(minutes=15)
MUST_SIGN = ("host", "x-amz-date", "x-amz-target", "content-type")
_FIELD = re.compile(r"\s*(Credential|SignedHeaders|Signature)=([^,\s]*)\s*")


def _forbidden(code: str, message: str) -> ApiError:
    return ApiError(code, message, 403)


def header_map(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-case names; a header sent twice is one value joined with commas (what gets signed)."""
    out: dict[str, str] = {}
    for key, value in headers:
        name = key.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[name] = f"{out[name]},{text}" if name in out else text
    return out


def _fields(authorization: str) -> dict[str, str]:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _forbidden(
            "IncompleteSignatureException", f"the Authorization header must use {ALGORITHM} (got {algorithm!r})"
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        match = _FIELD.fullmatch(part)
        if match is None:
            raise _forbidden("IncompleteSignatureException", f"malformed Authorization field {part.strip()!r}")
        fields[match.group(1)] = match.group(2)
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise _forbidden("IncompleteSignatureException", f"the Authorization header has no {', '.join(missing)}")
    return fields


def verify(
    credentials: ControlCredentials,
    method: str,
    path: str,
    query: bytes,
    raw_headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    now: datetime | None = None,
) -> str:
    """The signing region when the request is signed with the home's key pair; else an ApiError (403)."""
    headers = header_map(raw_headers)
    authorization = headers.get("authorization")
    if not authorization:
        raise _forbidden("MissingAuthenticationTokenException", "Missing Authentication Token")
    fields = _fields(authorization)
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise _forbidden("IncompleteSignatureException", f"malformed credential scope {fields['Credential']!r}")
    key_id, day, region, service, _ = scope
    if not hmac.compare_digest(key_id.encode(), credentials.AccessKeyId.encode()):
        raise _forbidden("UnrecognizedClientException", "The security token included in the request is invalid.")
    if service != SERVICE:
        raise _forbidden("InvalidSignatureException", f"the credential scope names service {service!r}, not {SERVICE}")
    signed = fields["SignedHeaders"].split(";")
    unsigned = [h for h in MUST_SIGN if h not in signed]
    if unsigned:
        raise _forbidden("InvalidSignatureException", f"these headers must be signed: {', '.join(unsigned)}")
    absent = [h for h in signed if h not in headers]
    if absent:
        raise _forbidden("InvalidSignatureException", f"signed headers missing from the request: {', '.join(absent)}")
    stamp = headers["x-amz-date"]
    try:
        when = datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise _forbidden("IncompleteSignatureException", f"X-Amz-Date {stamp!r} is not {SIGV4_TIMESTAMP}") from None
    current = now or datetime.now(UTC)
    if abs(current - when) > MAX_SKEW:
        raise _forbidden(
            "InvalidSignatureException",
            f"Signature expired: {stamp} is now earlier than {(current - MAX_SKEW).strftime(SIGV4_TIMESTAMP)} "
            f"({current.strftime(SIGV4_TIMESTAMP)} - 15 min.)",
        )
    if day != stamp[:8]:
        raise _forbidden("InvalidSignatureException", "the credential scope's date is not the X-Amz-Date's day")
    claimed = headers.get("x-amz-content-sha256")
    if claimed is not None and not hmac.compare_digest(claimed.encode(), hashlib.sha256(body).hexdigest().encode()):
        raise _forbidden("InvalidSignatureException", "X-Amz-Content-SHA256 is not the SHA-256 of the body")
    url = f"http://{headers['host']}{path}" + (f"?{query.decode('latin-1')}" if query else "")
    request = AWSRequest(method=method, url=url, headers={h: headers[h] for h in signed}, data=body)
    request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(credentials.AccessKeyId, credentials.SecretAccessKey), SERVICE, region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected.encode(), fields["Signature"].encode()):
        raise _forbidden(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )
    return region
