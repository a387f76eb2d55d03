"""Who may use the Viewer API: a key without isViewerEnabled gets a clear 403 on every one of the
SDK's Viewer methods; another clinic's key gets 404 on every Viewer object and never lists them."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

import avara
import pytest

from tests.conftest import ClinicFixture, Server
from tests.helpers import make_key, make_user, new_uid, sdk


def _set_viewer(key_id: str, enabled: bool) -> None:
    from autoscribe.audit.service import Actor
    from autoscribe.auth.models import ApiKey
    from autoscribe.auth.service import set_viewer_enabled
    from autoscribe.db import session_scope

    with session_scope() as session:
        key = session.get(ApiKey, uuid.UUID(key_id))
        assert key is not None
        set_viewer_enabled(session, key, enabled, actor=Actor.system())


def _objects(client: avara.Avara, clinic: ClinicFixture) -> dict[str, str]:
    study = client.viewer.studies.create(
        severity="normal", study_description="CT Head", study_instance_uid=new_uid()
    )
    user = client.viewer.users.invite(
        can_manage_studies=False,
        clinic_role="Other",
        email=f"v-{secrets.token_hex(4)}@example.test",
        first_name="Val",
        last_name="Viewer",
        has_dashboard_access=False,
        level="member",
    )
    (invitation,) = client.viewer.users.invitations.list(user_id=user.user_id)
    return {
        "study": study.study_id,
        "uid": study.study_instance_uid,
        "user": user.user_id,
        "joined": make_user(clinic.clinic_id, can_create_reports=False, npi=None),
        "invitation": invitation.invitation_id,
    }


def _every_viewer_method(client: avara.Avara, o: dict[str, str]) -> dict[str, Callable[[], Any]]:
    v = client.viewer
    return {
        "studies.create": lambda: v.studies.create(
            severity="normal", study_description="x", study_instance_uid=new_uid()
        ),
        "studies.retrieve": lambda: v.studies.retrieve(o["study"]),
        "studies.retrieve_by_uid": lambda: v.studies.retrieve_by_uid(o["uid"]),
        "studies.update": lambda: v.studies.update(o["study"], study_viewer_status="complete"),
        "studies.list": lambda: v.studies.list(),
        "studies.cancel": lambda: v.studies.cancel(study_id=o["study"]),
        "studies.uncancel": lambda: v.studies.uncancel(study_id=o["study"]),
        "studies.reroute_url": lambda: v.studies.reroute_url(study_id=o["study"]),
        "users.retrieve": lambda: v.users.retrieve(o["user"]),
        "users.update": lambda: v.users.update(o["joined"], first_name="Z"),
        "users.list": lambda: v.users.list(),
        "users.invite": lambda: v.users.invite(
            can_manage_studies=False,
            clinic_role="Other",
            email=f"n-{secrets.token_hex(4)}@example.test",
            first_name="N",
            last_name="N",
            has_dashboard_access=False,
            level="member",
        ),
        "users.reactivate": lambda: v.users.reactivate(user_id=o["joined"]),
        "users.revoke_access": lambda: v.users.revoke_access(user_id=o["joined"]),
        "users.invitations.retrieve": lambda: v.users.invitations.retrieve(o["invitation"]),
        "users.invitations.update": lambda: v.users.invitations.update(o["invitation"], first_name="Y"),
        "users.invitations.list": lambda: v.users.invitations.list(),
        "users.invitations.revoke": lambda: v.users.invitations.revoke(invitation_id=o["invitation"]),
        "ephemeral_sessions.create": lambda: v.ephemeral_sessions.create(retrieval_id="order-1"),
    }


def test_a_key_without_the_viewer_gets_403_on_every_viewer_method(
    server: Server, clinic: ClinicFixture
) -> None:
    objects = _objects(sdk(server.url, clinic.api_key), clinic)
    key = make_key(clinic.clinic_id, study_webhook_url="https://pacs.example.test/hook")
    _set_viewer(key.api_key_id, False)
    methods = _every_viewer_method(sdk(server.url, key.api_key), objects)
    assert (
        len(methods) == 19
    )  # every method of client.viewer (studies 8, users 6, invitations 4, ephemeral 1)
    for name, call in methods.items():
        with pytest.raises(avara.PermissionDeniedError) as refused:
            call()
        message = refused.value.body["error"]["message"]
        assert "Viewer is not enabled" in message and "isViewerEnabled is false" in message, name
    # AutoScribe's viewer-only links need it too; the rest of AutoScribe does not.
    client = sdk(server.url, key.api_key)
    study = client.auto_scribe.studies.create(
        severity="normal", study_description="CT", study_instance_uid=new_uid(), report_metadata={}
    )
    with pytest.raises(avara.PermissionDeniedError):
        client.auto_scribe.studies.viewer_only_reroute_url(study_id=study.study_id)
    # Switched on, the same key gets in.
    _set_viewer(key.api_key_id, True)
    assert client.viewer.studies.retrieve(objects["study"]).study_id == objects["study"]


def test_another_clinics_key_gets_404_on_every_viewer_object(
    server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture
) -> None:
    objects = _objects(sdk(server.url, clinic.api_key), clinic)
    intruder = sdk(server.url, other_clinic.api_key)
    methods = _every_viewer_method(intruder, objects)
    for name in (
        "studies.retrieve",
        "studies.retrieve_by_uid",
        "studies.update",
        "studies.cancel",
        "studies.uncancel",
        "studies.reroute_url",
        "users.retrieve",
        "users.update",
        "users.reactivate",
        "users.revoke_access",
        "users.invitations.retrieve",
        "users.invitations.update",
        "users.invitations.revoke",
    ):
        with pytest.raises(avara.NotFoundError):
            methods[name]()
    assert list(intruder.viewer.studies.list()) == []
    seen = {u.user_id for u in intruder.viewer.users.list()}
    assert not seen & {objects["user"], objects["joined"]}
    assert list(intruder.viewer.users.invitations.list()) == []
    # The same UID in another clinic is another clinic's study: no conflict.
    theirs = intruder.viewer.studies.create(
        severity="normal", study_description="CT", study_instance_uid=objects["uid"]
    )
    assert theirs.study_id != objects["study"]
    # Nothing changed on this side.
    owner = sdk(server.url, clinic.api_key)
    study = owner.viewer.studies.retrieve(objects["study"])
    assert study.study_viewer_status == "incomplete" and not study.is_cancelled
    assert owner.viewer.users.retrieve(objects["joined"]).first_name != "Z"
