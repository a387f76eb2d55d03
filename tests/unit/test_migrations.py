"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, text

from autoscribe.db import get_engine
from autoscribe.models import Base


def _index_names(table: str) -> set[str]:
    engine = get_engine()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=:t"), {"t": table}
            )
        else:
            rows = conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename=:t"), {"t": table})
        return {row[0] for row in rows}


def test_every_table_column_and_index_of_the_models_exists(database: str) -> None:
    inspector = inspect(get_engine())
    missing: list[str] = []
    for table in Base.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            missing.append(f"table {table.name}")
            continue
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"column {table.name}.{c.name}" for c in table.columns if c.name not in columns]
        # Includes expression and partial indexes, which autogenerate and batch mode can lose.
        indexes = _index_names(table.name)
        missing += [f"index {ix.name}" for ix in table.indexes if ix.name not in indexes]
    assert missing == []
