"""S3-compatible backend (AWS S3, MinIO, Ceph, moto): boto3, native presigned GET URLs."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from autoscribe.storage.base import ObjectNotFound, StorageError, check_key


def s3_client(
    *,
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    addressing_style: str = "auto",
    timeout: float | None = None,
    attempts: int = 3,
) -> Any:
    """A boto3 S3 client; `timeout` bounds connect and each read (30 s reads by default)."""
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": addressing_style},
        retries={"max_attempts": attempts, "mode": "standard"},
        connect_timeout=timeout or 5,
        read_timeout=timeout or 30,
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=config,
    )


class S3Storage:
    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        public_endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
        addressing_style: str = "auto",
        default_ttl: int = 3600,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.default_ttl = default_ttl
        options: dict[str, Any] = {
            "region": region,
            "access_key_id": access_key_id,
            "secret_access_key": secret_access_key,
            "addressing_style": addressing_style,
        }
        self.client: Any = s3_client(endpoint_url=endpoint_url, **options)
        # A signature covers the host: links for another name than ours are signed for that name.
        self.link_client: Any = (
            s3_client(endpoint_url=public_endpoint_url, **options)
            if public_endpoint_url and public_endpoint_url != endpoint_url
            else self.client
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not store {key}: {exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return bytes(answer["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ObjectNotFound(key) from None
            raise StorageError(f"could not read {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not read {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise StorageError(f"could not check {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not check {key}: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not delete {key}: {exc}") from exc

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            for page in pages:
                keys += [str(item["Key"])[len(self.prefix) :] for item in page.get("Contents", [])]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not list {prefix}: {exc}") from exc
        return sorted(keys)

    def presign(
        self,
        key: str,
        *,
        expires_in: int | None = None,
        download_name: str | None = None,
        content_type: str | None = None,
        issued_for: str | None = None,  # the bucket serves the download: nothing of ours to audit
    ) -> str:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self._key(key)}
        if download_name:
            params["ResponseContentDisposition"] = f'inline; filename="{download_name}"'
        if content_type:
            params["ResponseContentType"] = content_type
        # Signing is local computation: no request reaches the bucket here.
        return str(
            self.link_client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=self.default_ttl if expires_in is None else expires_in
            )
        )
