"""Alembic environment: the URL comes from AUTOSCRIBE_* settings, the schema from our models."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy.exc import SAWarning

from autoscribe.db import get_engine
from autoscribe.models import Base

target_metadata = Base.metadata

# SQLite batch operations reflect tables, and SQLAlchemy cannot reflect the expression index
# uq_users_clinic_email (lower(email)); no migration recreates that table, so the index is never
# at risk (tests/unit/test_migrations.py checks it survives), and the warning is only noise.
warnings.filterwarnings(
    "ignore", message="Skipped unsupported reflection of expression-based index", category=SAWarning
)


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection") or get_engine()
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
