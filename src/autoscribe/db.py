"""Engine, sessions and column types shared by every domain package (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

import orjson
from fastapi import Depends
from sqlalchemy import JSON, DateTime, Engine, MetaData, String, Uuid, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    SessionTransaction,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from starlette.concurrency import run_in_threadpool

from autoscribe.config import get_settings
from autoscribe.ids import new_id
from autoscribe.private_files import prepare_sqlite_file, private_dir

log = logging.getLogger("autoscribe.db")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


@event.listens_for(Base, "before_insert", propagate=True)
def _created_and_updated_at_one_instant(_mapper: Any, _connection: Any, target: Any) -> None:
    """A new row was last updated when it was created: the two column defaults would each call
    the clock and differ by a millisecond now and then."""
    if isinstance(target, TimestampMixin):
        if target.created_at is None:
            target.created_at = utcnow()
        if target.updated_at is None:
            target.updated_at = target.created_at


class ulower(FunctionElement[str]):
    """lower() that folds every letter, not only ASCII, on both backends: PostgreSQL's lower()
    does; SQLite's only knows A-Z, so there it calls Python's str.lower (registered below).
    For case-insensitive search ("Ångström" finds "ÅNGSTRÖM"); not for indexes."""

    type = String()
    inherit_cache = True


@compiles(ulower)
def _ulower_default(element: ulower, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(ulower, "sqlite")
def _ulower_sqlite(element: ulower, compiler: Any, **kw: Any) -> str:
    return f"autoscribe_lower({compiler.process(element.clauses, **kw)})"


def _python_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.create_function("autoscribe_lower", 1, _python_lower, deterministic=True)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str) -> Engine:
    # orjson: JSON columns (report metadata, notes, priors) are decoded for every listed study.
    json_options: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    # Statement parameters (patient data, token and password hashes, encrypted secrets) stay out
    # of exception messages, and so out of logged tracebacks.
    json_options["hide_parameters"] = True
    if url.startswith("sqlite"):
        prepare_sqlite_file(url)  # 0600 before SQLite creates it (and its WAL) with the umask's mode
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **json_options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    settings = get_settings()
    # No pool_pre_ping: it costs a round trip on every request. A connection that died (database
    # restart) fails one request, after which SQLAlchemy replaces every pooled connection of that
    # age; the official SDKs retry that 5xx by themselves.
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=3600,
        **json_options,
    )


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    settings = get_settings()
    if settings.is_sqlite:
        private_dir(settings.data_dir)
    return make_engine(settings.effective_database_url)


@lru_cache(maxsize=1)
def get_sessionmaker() -> sessionmaker[Session]:
    import autoscribe.models  # noqa: F401  (every mapper must be known before the first query)

    maker = sessionmaker(bind=get_engine(), expire_on_commit=False)
    event.listen(maker, "after_flush", _note_write)
    event.listen(maker, "do_orm_execute", _note_statement)
    event.listen(maker, "after_commit", _committed)
    event.listen(maker, "after_transaction_end", _transaction_ended)
    return maker


# Whether the open transaction has written anything: services flush and leave the commit to the
# request or task, so "nothing pending in the session" no longer means "nothing to lose".
_WROTE = "autoscribe.wrote"


def _note_write(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


# Work outside the database to undo if the transaction does not commit (a file stored for a row).
_ON_ROLLBACK = "autoscribe.on_rollback"


def _committed(session: Session) -> None:
    # Also fired when a savepoint is released: only the outer transaction's commit keeps the work.
    if not session.in_nested_transaction():
        session.info.pop(_ON_ROLLBACK, None)


def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    """The outer transaction ended: committed (its undos were dropped above), or rolled back or
    closed without a commit (a request that failed), when the undos run."""
    if transaction.parent is not None:
        return  # a savepoint or inner transaction: the outer one's writes and files still stand
    session.info.pop(_WROTE, None)
    for undo in session.info.pop(_ON_ROLLBACK, ()):
        try:
            undo()
        except Exception:
            log.exception("could not undo work outside the database after a rollback")


def has_writes(session: Session) -> bool:
    """The transaction holds a change: pending in the session, flushed, or written by a statement."""
    return bool(session.new or session.dirty or session.deleted or session.info.get(_WROTE))


def on_rollback(session: Session, undo: Callable[[], None]) -> None:
    """Run `undo` if the session's transaction rolls back instead of committing (the request's or
    task's, which commit at their boundary): for work outside the database, such as a stored file
    its rows would have pointed to."""
    session.info.setdefault(_ON_ROLLBACK, []).append(undo)


async def get_session() -> AsyncIterator[Session]:
    """FastAPI dependency: one session per request, closed once the response is sent. Routes take
    it through `request_transaction`, which commits it.

    Async so that opening the session (no I/O) costs no thread hop. Closing a session that still
    has a transaction (a read) rolls it back on the database, so that runs in the thread pool; a
    session whose changes were committed has already given its connection back."""
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


def request_transaction(session: Annotated[Session, Depends(get_session)]) -> Iterator[Session]:
    """FastAPI dependency (declared with scope="function"): the request's unit of work. What the
    route changed is committed when it returns, before the response is sent, so a client never sees
    an answer for a change that was not kept; an exception rolls it all back. Services add to the
    transaction and do not commit, except where a change must hold whatever follows (see
    docs/architecture.md, "Transactions")."""
    yield session
    if session.in_transaction():
        session.commit()


@contextmanager
def session_scope() -> Iterator[Session]:
    """For the CLI and workers: commit on success, roll back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
