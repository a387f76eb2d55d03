"""scribe: clinic templates and macros, dictations, transcription jobs

Revision ID: scribe_0001
Revises: reports_0001
Create Date: 2026-11-28 00:27:53.650612
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import autoscribe.db

revision = "scribe_0001"
down_revision = "reports_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    with op.batch_alter_table("scribe_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_scribe_jobs_status_run_after", ["status", "run_after"], unique=False)

    op.create_table(
        "scribe_macros",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_scribe_macros_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scribe_macros")),
    )
    with op.batch_alter_table("scribe_macros", schema=None) as batch_op:
        batch_op.create_index("ix_scribe_macros_clinic_id_id", ["clinic_id", "id"], unique=False)
        batch_op.create_index("uq_scribe_macros_clinic_name", ["clinic_id", "name"], unique=True)

    op.create_table(
        "scribe_templates",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("modality", sa.String(length=10), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_scribe_templates_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scribe_templates")),
    )
    with op.batch_alter_table("scribe_templates", schema=None) as batch_op:
        batch_op.create_index("ix_scribe_templates_clinic_id_id", ["clinic_id", "id"], unique=False)
    # Template names are unique per clinic, case-insensitively (autogenerate cannot see expression indexes).
    op.create_index(
        "uq_scribe_templates_clinic_name",
        "scribe_templates",
        ["clinic_id", sa.text("lower(name)")],
        unique=True,
    )

    op.create_table(
        "dictations",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("study_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("template_id", sa.String(length=100), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("audio_key", sa.String(length=500), nullable=True),
        sa.Column("audio_bytes", sa.Integer(), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("partial_text", sa.Text(), nullable=False),
        sa.Column("partial_chunks", sa.Integer(), nullable=False),
        sa.Column("final_text", sa.Text(), nullable=True),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("audio_deleted_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_dictations_clinic_id_clinics")),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], name=op.f("fk_dictations_study_id_studies")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_dictations_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dictations")),
    )
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.create_index("ix_dictations_clinic_study_id", ["clinic_id", "study_id", "id"], unique=False)
        batch_op.create_index("ix_dictations_signed_at", ["signed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.drop_index("ix_dictations_signed_at")
        batch_op.drop_index("ix_dictations_clinic_study_id")

    op.drop_table("dictations")
    op.drop_index("uq_scribe_templates_clinic_name", table_name="scribe_templates")
    with op.batch_alter_table("scribe_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_scribe_templates_clinic_id_id")

    op.drop_table("scribe_templates")
    with op.batch_alter_table("scribe_macros", schema=None) as batch_op:
        batch_op.drop_index("uq_scribe_macros_clinic_name")
        batch_op.drop_index("ix_scribe_macros_clinic_id_id")

    op.drop_table("scribe_macros")
    with op.batch_alter_table("scribe_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_scribe_jobs_status_run_after")

    op.drop_table("scribe_jobs")
