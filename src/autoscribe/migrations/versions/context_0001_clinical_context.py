"""context: clinical-context enrichment (the key option and one answer per study)

Revision ID: context_0001
Revises: observability_0001
Create Date: 2026-12-05 12:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import autoscribe.db

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")

revision = "context_0001"
down_revision = "observability_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column(
            "is_clinical_context_enrichment_enabled", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.create_table(
        "clinical_contexts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("study_id", sa.Uuid(), sa.ForeignKey("studies.id"), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("clinical_indication", sa.Text(), nullable=True),
        sa.Column("technologist_technique", sa.Text(), nullable=True),
        sa.Column("technologist_notes", JSON, nullable=True),
        sa.Column("prior_reports", JSON, nullable=True),
        sa.Column("documents", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("study_id"),
    )
    op.create_index("ix_clinical_contexts_clinic_id", "clinical_contexts", ["clinic_id"])


def downgrade() -> None:
    op.drop_index("ix_clinical_contexts_clinic_id", table_name="clinical_contexts")
    op.drop_table("clinical_contexts")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("is_clinical_context_enrichment_enabled")
