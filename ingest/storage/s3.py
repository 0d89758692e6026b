"""The one module that talks to S3-compatible storage (boto3)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ingest.errors import NotFound, StorageError

log = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024
"""Multipart part size for streamed uploads: bounds the memory of one upload to about this."""


@dataclass(frozen=True)
class StorageConfig:
    endpoint: str | None
    region: str
    bucket: str
    access_key: str
    secret_key: str
    public_endpoint: str | None = None
    connect_timeout_s: float = 2.0
    """Short: a store that is down must turn into StorageError (503) in seconds, not minutes."""
    read_timeout_s: float = 15.0
    max_attempts: int = 3
    """boto3's attempts per call (standard retry mode), the first one included."""


PING_TIMEOUT_S = 1.0
"""Connect and read limit of one readiness probe (no retry): a hung store fails it quickly."""


def _client(cfg: StorageConfig, endpoint: str | None, *, connect_timeout_s: float | None = None,
            read_timeout_s: float | None = None, max_attempts: int | None = None) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=cfg.region,
        aws_access_key_id=cfg.access_key,
        aws_secret_access_key=cfg.secret_key,
        config=Config(
            # No SHA-256 of every body for the signature (it cost a fifth of the API's CPU on a
            # tus upload): the signature covers the x-amz-checksum-crc32 header botocore adds to
            # each body, which the store checks, as boto3 does by default over https.
            s3={"addressing_style": "path", "payload_signing_enabled": False},
            signature_version="s3v4",
            retries={"total_max_attempts": max_attempts or cfg.max_attempts,
                     "mode": "standard"},
            connect_timeout=connect_timeout_s or cfg.connect_timeout_s,
            read_timeout=read_timeout_s or cfg.read_timeout_s,
        ),
    )


def _is_missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


class MultipartWriter:
    """Streams bytes into one object with S3 multipart upload; memory stays at one part."""

    def __init__(self, storage: Storage, key: str, content_type: str) -> None:
        self._s = storage
        self.key = key
        self._buf = bytearray()
        self._parts: list[dict[str, Any]] = []
        self.size = 0
        try:
            resp = storage.client.create_multipart_upload(
                Bucket=storage.bucket, Key=key, ContentType=content_type
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError.during(f"could not start upload of {key}", exc) from exc
        self._upload_id: str = resp["UploadId"]

    def write(self, data: bytes) -> None:
        self._buf += data
        self.size += len(data)
        while len(self._buf) >= PART_SIZE:
            self._flush(bytes(self._buf[:PART_SIZE]))
            del self._buf[:PART_SIZE]

    def _flush(self, chunk: bytes) -> None:
        number = len(self._parts) + 1
        try:
            resp = self._s.client.upload_part(
                Bucket=self._s.bucket, Key=self.key, UploadId=self._upload_id,
                PartNumber=number, Body=chunk,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError.during(f"could not upload part {number} of {self.key}",
                                      exc) from exc
        self._parts.append({"ETag": resp["ETag"], "PartNumber": number})

    def complete(self) -> int:
        """Flush the tail and make the object visible. Returns its size in bytes."""
        if self._buf or not self._parts:
            self._flush(bytes(self._buf))
            self._buf.clear()
        try:
            self._s.client.complete_multipart_upload(
                Bucket=self._s.bucket, Key=self.key, UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError.during(f"could not complete upload of {self.key}", exc) from exc
        return self.size

    def abort(self) -> None:
        """Drop every uploaded part: nothing of an aborted upload is left in storage."""
        self._buf.clear()
        try:
            self._s.client.abort_multipart_upload(
                Bucket=self._s.bucket, Key=self.key, UploadId=self._upload_id
            )
        except (ClientError, BotoCoreError) as exc:
            log.warning("abort of multipart upload %s failed: %s", self.key, exc)


class Storage:
    """Bucket operations used by Podium. Errors surface as NotFound or StorageError."""

    def __init__(self, cfg: StorageConfig) -> None:
        self.cfg = cfg
        self.bucket = cfg.bucket
        self.client = _client(cfg, cfg.endpoint)
        public = cfg.public_endpoint or cfg.endpoint
        self._presign_client = self.client if public == cfg.endpoint else _client(cfg, public)
        # made now, not on the first readiness probe: building a client can take a second on a
        # busy machine, more than a probe may take
        self._probe_client = _client(cfg, cfg.endpoint, connect_timeout_s=PING_TIMEOUT_S,
                                     read_timeout_s=PING_TIMEOUT_S, max_attempts=1)

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if not _is_missing(exc):
                raise StorageError.during(f"bucket {self.bucket} not reachable", exc) from exc
        except BotoCoreError as exc:
            raise StorageError.during("storage not reachable", exc) from exc
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise StorageError.during(f"could not create bucket {self.bucket}", exc) from exc

    def ping(self) -> bool:
        """Whether the bucket answers, within PING_TIMEOUT_S per step and without retries."""
        try:
            self._probe_client.head_bucket(Bucket=self.bucket)
            return True
        except (ClientError, BotoCoreError):
            return False

    def put_bytes(self, key: str, data: bytes, content_type: str,
                  cache_control: str | None = None) -> None:
        extra: dict[str, Any] = {"ContentType": content_type}
        if cache_control:
            extra["CacheControl"] = cache_control
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError.during(f"could not write {key}", exc) from exc

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        try:
            self.client.upload_file(
                str(path), self.bucket, key, ExtraArgs={"ContentType": content_type}
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError.during(f"could not upload {path} to {key}", exc) from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            return bytes(body.read())
        except ClientError as exc:
            if _is_missing(exc):
                raise NotFound("No such object.", detail=key) from exc
            raise StorageError.during(f"could not read {key}", exc) from exc
        except BotoCoreError as exc:
            raise StorageError.during(f"could not read {key}", exc) from exc

    def open_stream(self, key: str) -> tuple[Iterator[bytes], int, str]:
        """The object's bytes in chunks, its length and content type (proxy delivery mode)."""
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                raise NotFound("No such object.", detail=key) from exc
            raise StorageError.during(f"could not read {key}", exc) from exc
        except BotoCoreError as exc:
            raise StorageError.during(f"could not read {key}", exc) from exc
        chunks: Iterator[bytes] = resp["Body"].iter_chunks(64 * 1024)
        return chunks, int(resp["ContentLength"]), str(resp.get("ContentType", ""))

    def download_file(self, key: str, path: Path) -> None:
        try:
            self.client.download_file(self.bucket, key, str(path))
        except ClientError as exc:
            if _is_missing(exc):
                raise NotFound("No such object.", detail=key) from exc
            raise StorageError.during(f"could not download {key}", exc) from exc
        except BotoCoreError as exc:
            raise StorageError.during(f"could not download {key}", exc) from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise StorageError.during(f"could not stat {key}", exc) from exc
        except BotoCoreError as exc:
            raise StorageError.during(f"could not stat {key}", exc) from exc

    def list_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield str(obj["Key"])
        except (ClientError, BotoCoreError) as exc:
            raise StorageError.during(f"could not list {prefix}", exc) from exc

    def object_sizes(self, prefix: str) -> dict[str, int]:
        """Size of every object under prefix, keyed by the rest of its key."""
        sizes: dict[str, int] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    sizes[str(obj["Key"])[len(prefix):]] = int(obj["Size"])
        except (ClientError, BotoCoreError) as exc:
            raise StorageError.during(f"could not list {prefix}", exc) from exc
        return sizes

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under prefix (and abort its unfinished multipart uploads)."""
        if not prefix.endswith("/"):
            raise ValueError("delete_prefix needs a prefix ending in '/'")
        keys = list(self.list_keys(prefix))
        for i in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[i : i + 1000]]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
            except (ClientError, BotoCoreError) as exc:
                raise StorageError.during(f"could not delete under {prefix}", exc) from exc
        self._abort_uploads(prefix)
        return len(keys)

    def _abort_uploads(self, prefix: str) -> None:
        try:
            resp = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        except (ClientError, BotoCoreError):
            return  # not every S3 server lists uploads; parts expire with the bucket's policy
        for up in resp.get("Uploads", []):
            try:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=up["Key"], UploadId=up["UploadId"]
                )
            except (ClientError, BotoCoreError) as exc:
                log.warning("could not abort upload %s: %s", up["Key"], exc)

    def multipart_writer(self, key: str, content_type: str) -> MultipartWriter:
        return MultipartWriter(self, key, content_type)

    # --- multipart uploads driven from outside (resumable transfers, one part per call) ---------
    def start_multipart(self, key: str, content_type: str) -> str:
        """Begin a multipart upload of ``key``; its id, to pass to the calls below."""
        try:
            resp = self.client.create_multipart_upload(Bucket=self.bucket, Key=key,
                                                       ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not start upload of {key}: {exc}") from exc
        return str(resp["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        """Store part ``number`` (1-based; a second call replaces it); returns its ETag."""
        try:
            resp = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                           PartNumber=number, Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not upload part {number} of {key}: {exc}") from exc
        return str(resp["ETag"])

    def complete_multipart(self, key: str, upload_id: str, etags: list[str]) -> None:
        """Make the object of parts 1..len(etags) visible (parts uploaded beyond are dropped)."""
        parts = [{"ETag": tag, "PartNumber": n} for n, tag in enumerate(etags, start=1)]
        try:
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=key,
                                                  UploadId=upload_id,
                                                  MultipartUpload={"Parts": parts})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not complete upload of {key}: {exc}") from exc

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop every part of an unfinished upload (an already finished or aborted one: no-op)."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) not in {"NoSuchUpload", "404"}:
                raise StorageError(f"could not abort upload of {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not abort upload of {key}: {exc}") from exc

    def multipart_uploads(self, prefix: str) -> list[tuple[str, str]]:
        """(key, upload id) of the unfinished multipart uploads under prefix."""
        try:
            resp = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not list uploads under {prefix}: {exc}") from exc
        return [(str(u["Key"]), str(u["UploadId"])) for u in resp.get("Uploads", [])]

    def delete_keys(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[i : i + 1000]]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
            except (ClientError, BotoCoreError) as exc:
                raise StorageError(f"could not delete {len(batch)} objects: {exc}") from exc

    def presign_get(self, key: str, ttl_s: int) -> str:
        return str(
            self._presign_client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl_s
            )
        )
