"""Dictation audio in the platform's storage (`autoscribe.storage`: a local directory or an S3
bucket, wherever report PDFs go), kept until the report is signed plus the retention period.

S3 has no append, so each uploaded chunk is an object of its own:
`dictations/<clinic uuid>/<dictation uuid>/<seq, 6 digits>.<ext>`; the recording is the chunks
concatenated in order (MediaRecorder's chunks are one stream cut in pieces). The dictation row
keeps the prefix (`audio_key`, made only by `audio_key()`) and how many chunks there are.
"""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor

from autoscribe.storage import ObjectNotFound, Storage, get_storage

_KEY = re.compile(r"^dictations/[0-9a-f]{32}/[0-9a-f]{32}\.[a-z0-9]{1,5}$")

_EXTENSIONS = {
    "audio/webm": "webm",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/m4a": "m4a",
    "audio/aac": "aac",
    "audio/flac": "flac",
}
# Chunks read at once (S3: one GET each; a local disk does not mind).
_READERS = 8


def _base_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def extension_for(content_type: str | None) -> str:
    return _EXTENSIONS.get(_base_type(content_type), "bin")


def is_audio_type(content_type: str) -> bool:
    """A recording the engine decodes: what MediaRecorder makes (WebM, Ogg, MP4) and the files
    radiologists upload (WAV, WebM, MP3, M4A, AAC, FLAC)."""
    return _base_type(content_type) in _EXTENSIONS


def audio_key(clinic_id: uuid.UUID, dictation_id: uuid.UUID, content_type: str | None) -> str:
    """The recording's name: its chunks are stored under it (see `AudioStore.chunk_key`)."""
    return f"dictations/{clinic_id.hex}/{dictation_id.hex}.{extension_for(content_type)}"


class AudioStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    @staticmethod
    def chunk_key(key: str, seq: int) -> str:
        if not _KEY.match(key):
            raise ValueError("not an audio key this store made")
        stem, ext = key.rsplit(".", 1)
        return f"{stem}/{seq:06d}.{ext}"

    def put_chunk(self, key: str, seq: int, data: bytes, content_type: str | None = None) -> None:
        """Store chunk `seq` (storing the same chunk again overwrites it: retries are harmless)."""
        self.storage.put(
            self.chunk_key(key, seq), data, content_type=content_type or "application/octet-stream"
        )

    def read(self, key: str, chunks: int) -> bytes:
        """The recording: chunks 0 .. chunks-1 in order (a chunk already purged reads as empty)."""

        def one(seq: int) -> bytes:
            try:
                return self.storage.get(self.chunk_key(key, seq))
            except ObjectNotFound:
                return b""

        with ThreadPoolExecutor(max_workers=_READERS) as pool:
            return b"".join(pool.map(one, range(chunks)))

    def delete(self, key: str, chunks: int) -> None:
        for seq in range(chunks):
            self.storage.delete(self.chunk_key(key, seq))


def audio_store() -> AudioStore:
    return AudioStore(get_storage())
