"""dictate: reports.sign_checks (pre-sign checks recorded at signing), dictations.report_id

Revision ID: dictate_0001
Revises: dashboard_0001
Create Date: 2026-11-28 04:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import autoscribe.db  # noqa: F401  (the convention: migrations import it for the shared column types)

revision = "dictate_0001"
down_revision = "dashboard_0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    # A plain ADD COLUMN on both databases: batch mode would rebuild `reports` on SQLite and drop
    # the triggers that keep signed reports immutable.
    op.add_column("reports", sa.Column("sign_checks", JSON, nullable=True))
    # `dictations` has no triggers: batch mode lets SQLite add the foreign key too.
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_dictations_report_id_reports"), "reports", ["report_id"], ["id"])
        batch_op.create_index("ix_dictations_report_id", ["report_id"])


def downgrade() -> None:
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.drop_index("ix_dictations_report_id")
        batch_op.drop_constraint(op.f("fk_dictations_report_id_reports"), type_="foreignkey")
        batch_op.drop_column("report_id")
    op.drop_column("reports", "sign_checks")
