"""Every action the platform writes to the audit log has a label on the dashboard's audit page:
a new action without one would show its raw name to a clinic's auditor (and fail this test)."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "autoscribe"
# `action="study.created"`, `action="a" if x else "b"`, and the read helpers' action argument.
ACTION = re.compile(r'action="([a-z_]+\.[a-z_]+)"(?: if [^\n]+ else "([a-z_]+\.[a-z_]+)")?')
READ = re.compile(r'record_(?:read|read_of|list)\([^)]*?"(read\.[a-z_]+)"', re.DOTALL)


def audited_actions() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        for match in ACTION.finditer(text):
            found.update(name for name in match.groups() if name)
        found.update(READ.findall(text))
    return found


def test_every_audited_action_has_a_label() -> None:
    from autoscribe.web.dashboard.audit_pages import ACTION_LABELS

    actions = audited_actions()
    assert {"study.created", "read.study", "read.dicom_search", "api_key.viewer_enabled"} <= actions
    assert sorted(actions - set(ACTION_LABELS)) == []
