"""A new row's updated_at is its created_at: the same instant, not two readings of the clock."""

from __future__ import annotations

from sqlalchemy import event

from autoscribe.db import Base, _created_and_updated_at_one_instant
from autoscribe.models import Study


def test_a_new_row_was_last_updated_when_it_was_created() -> None:
    assert event.contains(Base, "before_insert", _created_and_updated_at_one_instant)
    study = Study()
    _created_and_updated_at_one_instant(None, None, study)
    assert study.created_at is not None and study.updated_at == study.created_at
    # What the caller set stays set.
    later = Study(created_at=study.created_at)
    _created_and_updated_at_one_instant(None, None, later)
    assert later.updated_at == study.created_at
