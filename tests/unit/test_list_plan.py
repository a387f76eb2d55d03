"""The list query walks the live-studies index in order: no sort of a whole clinic per page, even
before the database has statistics (a fresh or freshly grown database)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert, text

from tests.conftest import ClinicFixture


@pytest.mark.parametrize("scope", ["all", "self"])
def test_list_query_plan_uses_the_live_index_without_sorting(clinic: ClinicFixture, scope: str) -> None:
    import autoscribe.models  # noqa: F401
    from autoscribe.db import get_engine, utcnow
    from autoscribe.ids import new_id
    from autoscribe.studies.models import Study
    from autoscribe.studies.service import StudyScope, scoped

    clinic_id, key_id = uuid.UUID(clinic.clinic_id), uuid.UUID(clinic.api_key_id)
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "clinic_id": clinic_id,
            "study_instance_uid": f"2.25.{uuid.uuid4().int}",
            "study_description": "CT",
            "severity": "normal",
            "study_report_status": "unassigned",
            "study_type": "standard",
            "is_cancelled": False,
            "created_by_api_key_id": key_id,
            "report_metadata": {},
            "created_at": now,
            "updated_at": now,
        }
        for _ in range(3000)
    ]
    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(insert(Study.__table__), rows)

    stmt = scoped(StudyScope(clinic_id, api_key_id=key_id if scope == "self" else None))
    sql = str(
        stmt.order_by(Study.id.desc()).limit(21).compile(engine, compile_kwargs={"literal_binds": True})
    )
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        answer = conn.execute(text(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql))
        plan = "\n".join(str(row[-1] if sqlite else row[0]) for row in answer)
    assert ("TEMP B-TREE" if sqlite else "Sort") not in plan, plan
    assert "_live_id" in plan, plan
