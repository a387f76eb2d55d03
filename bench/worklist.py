"""What one worklist refresh costs the database, with many studies in a clinic.

Every open worklist asks every 4 seconds whether anything changed in the clinic (the change
marker: two index lookups); only when something did, it reads the first page in priority order
(stat, high, normal; newest first) and the counts per status. This prints the median time of the
marker, and of the full refresh for the default view, a status tab, a text search, and a deep
page reached by keyset cursor.

    .venv/bin/python bench/worklist.py [studies] [rounds]
    AUTOSCRIBE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench_worklist \
        .venv/bin/python bench/worklist.py

It uses a fresh SQLite database in a temporary directory unless AUTOSCRIBE_DATABASE_URL names
another (an empty database it may fill).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

if "AUTOSCRIBE_DATABASE_URL" not in os.environ:
    os.environ["AUTOSCRIBE_DATA_DIR"] = tempfile.mkdtemp(prefix="autoscribe-bench-worklist-")
os.environ.setdefault("AUTOSCRIBE_SECRET_KEY", "bench-worklist")

from autoscribe.db import get_engine, get_sessionmaker, utcnow
from autoscribe.ids import new_id
from autoscribe.migrate import upgrade
from autoscribe.studies import service
from autoscribe.studies.service import StudyFilters, StudyScope


def fill(studies: int) -> uuid.UUID:
    from autoscribe.clinics.models import Clinic
    from autoscribe.studies.models import Study

    maker = get_sessionmaker()
    with maker() as session:
        clinic = Clinic(name="Bench clinic")
        session.add(clinic)
        session.commit()
        rng = random.Random(7)
        names = ["Ana Lima", "John Doe", "Zoë Ångström", "Mei Lin", "Carlos Ruiz"]
        batch = []
        for i in range(studies):
            batch.append(
                {
                    "id": new_id(),
                    "clinic_id": clinic.id,
                    "study_instance_uid": f"2.25.{uuid.uuid4().int}",
                    "study_description": rng.choice(["CT head", "MRI brain", "XR chest", "US renal"]),
                    "severity": rng.choices(["normal", "high", "stat"], weights=[85, 12, 3])[0],
                    "study_report_status": rng.choices(
                        ["completed", "unassigned", "assigned", "in_progress"], weights=[80, 10, 7, 3]
                    )[0],
                    "study_type": "standard",
                    "is_cancelled": rng.random() < 0.02,
                    "report_metadata": {"patientName": rng.choice(names), "mrn": f"MRN{i:07d}"},
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                }
            )
            if len(batch) == 5000:
                session.execute(Study.__table__.insert(), batch)
                batch = []
        if batch:
            session.execute(Study.__table__.insert(), batch)
        session.commit()
    # Planner statistics, as a database in service has them (autovacuum would run it soon).
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    return clinic.id


def median_ms(fn: Callable[[], Any], rounds: int) -> float:
    fn()  # warm
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    studies = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    upgrade()
    started = time.perf_counter()
    clinic_id = fill(studies)
    print(f"{studies} studies inserted in {time.perf_counter() - started:.1f} s")
    scope = StudyScope(clinic_id=clinic_id)
    maker = get_sessionmaker()

    def refresh(filters: StudyFilters, cursor: str | None = None) -> Callable[[], Any]:
        def run() -> Any:
            with maker() as session:
                page = service.list_studies(
                    session, scope, filters, cursor=cursor, limit=50, order=service.ORDER_PRIORITY
                )
                service.count_by_status(session, scope, filters)
                return page

        return run

    open_view = StudyFilters(is_cancelled=False)
    deep_cursor = None
    with maker() as session:
        for _ in range(20):  # 20 pages in: 1000 studies down the list
            page = service.list_studies(
                session, scope, open_view, cursor=deep_cursor, limit=50, order=service.ORDER_PRIORITY
            )
            deep_cursor = page.cursor
    cases = {
        "default view (all statuses, not cancelled)": refresh(open_view),
        "tab: unassigned": refresh(StudyFilters(is_cancelled=False, report_statuses=["unassigned"])),
        "search: patient name": refresh(StudyFilters(is_cancelled=False, text="ångström")),
        "page 21 by keyset cursor": refresh(open_view, deep_cursor),
    }

    def marker() -> Any:
        with maker() as session:
            return service.change_marker(session, clinic_id)

    print(f"{'nothing changed (change marker only)':45s} median {median_ms(marker, rounds):7.2f} ms")
    for label, fn in cases.items():
        print(f"{label:45s} median {median_ms(fn, rounds):7.1f} ms (first page of 50 + counts per status)")


if __name__ == "__main__":
    main()
