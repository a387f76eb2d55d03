"""dicom: clinic AE titles and DICOM settings, the per-instance archive index

Revision ID: dicom_0001
Revises: audit_0001
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import autoscribe.db

revision = "dicom_0001"
down_revision = "audit_0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch copy of the clinics table, which every table references).
    op.add_column("clinics", sa.Column("ae_title", sa.String(length=16), nullable=True))
    op.add_column("clinics", sa.Column("dicom_api_key_id", sa.Uuid(), nullable=True))
    op.add_column("clinics", sa.Column("dicom_allowed_calling_aes", _JSON, nullable=True))
    op.add_column("clinics", sa.Column("dicom_allowed_addresses", _JSON, nullable=True))
    op.create_index("uq_clinics_ae_title", "clinics", ["ae_title"], unique=True)

    op.create_table(
        "dicom_instances",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("sop_class_uid", sa.String(length=64), nullable=False),
        sa.Column("transfer_syntax_uid", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("received_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("calling_ae", sa.String(length=16), nullable=True),
        sa.Column("source_address", sa.String(length=64), nullable=True),
        sa.Column("source_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("study_id", sa.Uuid(), nullable=True),
        sa.Column("seeded_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("modality", sa.String(length=16), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("patient_name", sa.String(length=324), nullable=True),
        sa.Column("study_date", sa.String(length=8), nullable=True),
        sa.Column("accession_number", sa.String(length=16), nullable=True),
        sa.Column("series_number", sa.Integer(), nullable=True),
        sa.Column("instance_number", sa.Integer(), nullable=True),
        sa.Column("attributes", _JSON, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_dicom_instances_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["source_api_key_id"], ["api_keys.id"], name=op.f("fk_dicom_instances_source_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_dicom_instances_study_id_studies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dicom_instances")),
    )
    op.create_index(
        "uq_dicom_instances_clinic_sop", "dicom_instances", ["clinic_id", "sop_instance_uid"], unique=True
    )
    op.create_index(
        "ix_dicom_instances_clinic_study_series",
        "dicom_instances",
        ["clinic_id", "study_instance_uid", "series_instance_uid"],
    )
    op.create_index("ix_dicom_instances_clinic_patient", "dicom_instances", ["clinic_id", "patient_id"])
    op.create_index("ix_dicom_instances_clinic_study_date", "dicom_instances", ["clinic_id", "study_date"])
    op.create_index("ix_dicom_instances_study_id", "dicom_instances", ["study_id"])
    op.create_index(
        "ix_dicom_instances_pending",
        "dicom_instances",
        ["clinic_id", "study_instance_uid"],
        sqlite_where=sa.text("seeded_at IS NULL"),
        postgresql_where=sa.text("seeded_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("dicom_instances")
    op.drop_index("uq_clinics_ae_title", table_name="clinics")
    # SQLite >= 3.35 drops columns in place, like PostgreSQL.
    for column in ("dicom_allowed_addresses", "dicom_allowed_calling_aes", "dicom_api_key_id", "ae_title"):
        op.drop_column("clinics", column)
