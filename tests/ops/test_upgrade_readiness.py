"""Rolling upgrades (README "Upgrades"): once the next release's `autoscribe migrate` has run, the
processes of this release still report ready (their /readyz keeps them in the load balancer until
they are replaced); a database behind the code is not ready."""

from __future__ import annotations

from autoscribe.observability.health import OK, code_heads, migration_status


def _an_older_revision() -> str:
    from alembic.script import ScriptDirectory

    from autoscribe.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_revision(sorted(code_heads())[0])
    assert head is not None and head.down_revision, "the newest migration has a predecessor"
    down = head.down_revision
    return down if isinstance(down, str) else sorted(down)[0]


def test_at_the_code_heads_is_ready() -> None:
    assert migration_status(code_heads()) == OK


def test_ahead_of_the_code_after_the_next_release_migrated_is_ready() -> None:
    heads = sorted(code_heads())
    # The next release added a migration after one of our heads: the database names a revision
    # this code has never seen, in that head's place.
    newer = frozenset([*heads[1:], "f00dfeed_next_release"])
    assert migration_status(newer) == OK


def test_behind_the_code_or_unmigrated_is_not_ready() -> None:
    heads = sorted(code_heads())
    older = frozenset([*heads[1:], _an_older_revision()])
    for current in (older, frozenset(heads[1:]), frozenset()):
        status = migration_status(current)
        assert status != OK and status.endswith("run autoscribe migrate"), current
