"""The S3 artifact store, through boto3. The only module of this package that imports boto3.

``endpoint_url`` (or ``AWS_ENDPOINT_URL_S3``) points it at an S3-compatible server, e.g. moto's.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from mlops.core.errors import NotFoundError, ValidationError


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValidationError("uri", f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise ValidationError("uri", f"{uri!r} has no bucket")
    return bucket, key


class S3Store:
    def __init__(self, endpoint_url: str | None = None, client: Any = None) -> None:
        self._client = client or boto3.client(
            "s3", endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or None
        )

    def put_file(self, local: Path, uri: str) -> str:
        bucket, key = split_s3_uri(uri)
        self._client.upload_file(str(local), bucket, key)  # S3 objects appear whole or not at all
        return uri

    def get_file(self, uri: str, local: Path) -> Path:
        bucket, key = split_s3_uri(uri)
        local.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=local.parent, prefix=f".{local.name}.")
        os.close(fd)
        try:
            self._client.download_file(bucket, key, tmp)
        except ClientError as e:
            Path(tmp).unlink(missing_ok=True)
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket"):
                raise NotFoundError("artifact", uri) from None
            raise
        os.replace(tmp, local)
        return local

    def put_bytes(self, data: bytes, uri: str) -> str:
        bucket, key = split_s3_uri(uri)
        self._client.put_object(Bucket=bucket, Key=key, Body=data)
        return uri

    def get_bytes(self, uri: str) -> bytes:
        bucket, key = split_s3_uri(uri)
        try:
            return bytes(self._client.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket"):
                raise NotFoundError("artifact", uri) from None
            raise

    def exists(self, uri: str) -> bool:
        bucket, key = split_s3_uri(uri)
        try:
            self._client.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError:
            return bool(self.list(uri.rstrip("/") + "/"))

    def list(self, prefix: str) -> list[str]:
        bucket, key = split_s3_uri(prefix)
        out: list[str] = []
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            keys = (obj["Key"] for obj in page.get("Contents", []))
            out.extend(f"s3://{bucket}/{k}" for k in keys if not k.endswith("/"))  # "a/": a folder marker
        return sorted(out)

    def join(self, base: str, *parts: str) -> str:
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
