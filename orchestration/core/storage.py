"""Whole files on the lake, a folder or S3 alike: written in one step (locally by rename, on S3
by one PUT), so a reader never sees half of one."""

from __future__ import annotations

import os

from orchestration.core.lake import split_s3_uri


def write_bytes(path: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    if path.startswith("s3://"):
        import boto3

        bucket, key = split_s3_uri(path)
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "wb") as handle:
        handle.write(data)
    os.replace(path + ".tmp", path)


def read_bytes(path: str) -> bytes:
    if path.startswith("s3://"):
        import boto3

        bucket, key = split_s3_uri(path)
        return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with open(path, "rb") as handle:
        return handle.read()
