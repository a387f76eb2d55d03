"""queue: one task table for every background job (scribe_jobs becomes tasks, queue "dictation")

Revision ID: queue_0001
Revises: dictate_0001
Create Date: 2026-12-05 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import autoscribe.db

revision = "queue_0001"
down_revision = "dictate_0001"
branch_labels = None
depends_on = None

_COLUMNS = (
    "id, created_at, updated_at, clinic_id, kind, payload, dedupe_key, status, attempts, "
    "max_attempts, run_after, locked_by, locked_until, last_error, finished_at"
)


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("clinic_id", sa.Uuid(), nullable=True),
        sa.Column("queue", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("locked_until", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_tasks_clinic_id_clinics")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index("ix_tasks_queue_status_run_after", "tasks", ["queue", "status", "run_after"])
    op.create_index("ix_tasks_dedupe_key", "tasks", ["dedupe_key"])
    # Transcriptions still to do carry over; finished jobs are history nobody reads.
    op.execute(
        f"INSERT INTO tasks (queue, {_COLUMNS}) SELECT 'dictation', {_COLUMNS} FROM scribe_jobs "  # noqa: S608
        "WHERE status IN ('queued', 'running')"
    )
    op.drop_table("scribe_jobs")


def downgrade() -> None:
    op.create_table(
        "scribe_jobs",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("locked_until", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_scribe_jobs_clinic_id_clinics")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scribe_jobs")),
    )
    op.create_index("ix_scribe_jobs_status_run_after", "scribe_jobs", ["status", "run_after"])
    op.execute(
        f"INSERT INTO scribe_jobs ({_COLUMNS}) SELECT {_COLUMNS} FROM tasks "  # noqa: S608
        "WHERE queue = 'dictation' AND clinic_id IS NOT NULL AND status IN ('queued', 'running')"
    )
    op.drop_table("tasks")
