"""dashboard: studies.severity_rank (generated) and the worklist's indexes (priority, latest change, counts)

Revision ID: dashboard_0001
Revises: workspace_0001
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import autoscribe.db  # noqa: F401  (the convention: migrations import it for the shared column types)

revision = "dashboard_0001"
down_revision = "workspace_0001"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
# As in autoscribe.studies.models (copied: a migration must not change when the model does).
SEVERITY_RANK_SQL = "CASE severity WHEN 'stat' THEN 2 WHEN 'high' THEN 1 ELSE 0 END"


def upgrade() -> None:
    # SQLite can only add VIRTUAL generated columns to an existing table (they can be indexed);
    # PostgreSQL 15 only has STORED ones.
    stored = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "studies",
        sa.Column("severity_rank", sa.SmallInteger(), sa.Computed(SEVERITY_RANK_SQL, persisted=stored)),
    )
    live: dict[str, Any] = {"sqlite_where": LIVE, "postgresql_where": LIVE}
    op.create_index("ix_studies_clinic_rank_live_id", "studies", ["clinic_id", "severity_rank", "id"], **live)
    op.create_index(
        "ix_studies_clinic_status_rank_live_id",
        "studies",
        ["clinic_id", "study_report_status", "severity_rank", "id"],
        **live,
    )
    op.create_index("ix_studies_clinic_updated_at", "studies", ["clinic_id", "updated_at"])
    op.create_index(
        "ix_studies_clinic_status_cancelled_live",
        "studies",
        ["clinic_id", "study_report_status", "is_cancelled"],
        **live,
    )


def downgrade() -> None:
    op.drop_index("ix_studies_clinic_status_cancelled_live", table_name="studies")
    op.drop_index("ix_studies_clinic_updated_at", table_name="studies")
    op.drop_index("ix_studies_clinic_status_rank_live_id", table_name="studies")
    op.drop_index("ix_studies_clinic_rank_live_id", table_name="studies")
    op.drop_column("studies", "severity_rank")
