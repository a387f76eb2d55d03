"""moto's S3 server on loopback, standing in for an S3-compatible bucket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BUCKET = "autoscribe-test"


@dataclass
class MotoS3:
    endpoint_url: str
    server: Any

    @property
    def env(self) -> dict[str, str]:
        """Settings that point an AutoScribe process at this bucket."""
        return {
            "AUTOSCRIBE_STORAGE_BACKEND": "s3",
            "AUTOSCRIBE_S3_BUCKET": BUCKET,
            "AUTOSCRIBE_S3_ENDPOINT_URL": self.endpoint_url,
            "AUTOSCRIBE_S3_REGION": "us-east-1",
            "AUTOSCRIBE_S3_ACCESS_KEY_ID": "testing",
            "AUTOSCRIBE_S3_SECRET_ACCESS_KEY": "testing",
            "AUTOSCRIBE_S3_ADDRESSING_STYLE": "path",
            "AUTOSCRIBE_S3_PREFIX": "tenant-files/",
        }

    def storage(self) -> Any:
        from autoscribe.storage.s3 import S3Storage

        env = self.env
        return S3Storage(
            bucket=BUCKET,
            endpoint_url=self.endpoint_url,
            region="us-east-1",
            access_key_id="testing",
            secret_access_key="testing",
            prefix=env["AUTOSCRIBE_S3_PREFIX"],
            addressing_style="path",
        )


def start_moto() -> MotoS3:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=BUCKET)
    return MotoS3(endpoint, server)
