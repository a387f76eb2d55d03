"""File storage: one interface (storage.base.Storage), a local-directory and an S3 backend.

`get_storage()` returns the configured backend; `AUTOSCRIBE_STORAGE_BACKEND=s3` plus the
`AUTOSCRIBE_S3_*` settings switch to a bucket.
"""

from __future__ import annotations

from functools import lru_cache

from autoscribe.config import Settings, get_settings
from autoscribe.storage.base import ObjectNotFound, Storage, StorageError, check_key
from autoscribe.storage.local import LocalStorage
from autoscribe.storage.s3 import S3Storage

__all__ = ["ObjectNotFound", "Storage", "StorageError", "check_key", "get_storage", "make_storage"]


def make_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        if not settings.s3_bucket:
            raise RuntimeError("AUTOSCRIBE_STORAGE_BACKEND=s3 needs AUTOSCRIBE_S3_BUCKET")
        return S3Storage(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            public_endpoint_url=settings.s3_public_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            prefix=settings.s3_prefix,
            addressing_style=settings.s3_addressing_style,
            default_ttl=settings.download_url_ttl_seconds,
        )
    return LocalStorage(
        settings.effective_storage_dir, settings.public_url, settings.download_url_ttl_seconds
    )


@lru_cache(maxsize=1)
def get_storage() -> Storage:
    return make_storage(get_settings())
