"""The Viewer product over AutoScribe's services.

A Viewer study is a row of `studies` with study_type "viewer" (studies.models): the same
storage, scopes, assignment, cancellation, lists and links as AutoScribe's studies, seen through
a scope of its own (`scope_for`), so neither product's API ever shows the other's studies. Its
`studyViewerStatus` is its reading state (studies.service.viewer_status). People are the
clinic's: Viewer users and invitations are the users service's, without the reporting fields.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from autoscribe.auth.context import ApiContext
from autoscribe.studies import service as studies
from autoscribe.studies.models import VIEWER, Study
from autoscribe.studies.schemas import ReportMetadataIn, StudyCreate, StudyUpdate, common_fields
from autoscribe.studies.service import Creator, StudyScope
from autoscribe.users import invitations as users_invitations
from autoscribe.users.models import Invitation
from autoscribe.users.schemas import ProfileUpdate, UserInvite
from autoscribe.viewer.schemas import (
    ViewerStudyCreate,
    ViewerStudyOut,
    ViewerStudyUpdate,
    as_viewer_invitation,
)


def scope_for(ctx: ApiContext) -> StudyScope:
    """The key's Viewer studies (a "self" key: the ones it created)."""
    return StudyScope(
        clinic_id=ctx.clinic_id,
        api_key_id=ctx.api_key.id if ctx.own_studies_only else None,
        study_types=(VIEWER,),
    )


# ---- studies -----------------------------------------------------------------------------------------


def create_study(session: Session, ctx: ApiContext, body: ViewerStudyCreate) -> Study:
    """The study service's create, as a Viewer study: no report metadata, and anyone the study
    may be shown to can be assigned (no canCreateReports or NPI needed to look at images)."""
    study = StudyCreate(
        report_metadata=ReportMetadataIn(),
        severity=body.severity,
        study_description=body.study_description,
        study_instance_uid=body.study_instance_uid,
        assigned_to=body.assigned_to,
        express_customer_id=body.express_customer_id,
        metadata=body.metadata,
    )
    creator = Creator(actor=ctx.actor, api_key_id=ctx.api_key.id)
    return studies.create_study(session, scope_for(ctx), study, creator, study_type=VIEWER)


def update_study(session: Session, ctx: ApiContext, study: Study, body: ViewerStudyUpdate) -> Study:
    sent = body.model_dump(exclude_unset=True, exclude={"study_viewer_status"})
    return studies.update_study(
        session,
        study,
        StudyUpdate.model_validate(sent),
        ctx.actor,
        viewer_status=body.study_viewer_status,
    )


def to_out(study: Study) -> ViewerStudyOut:
    return ViewerStudyOut(**common_fields(study), study_viewer_status=studies.viewer_status(study))


# ---- people ------------------------------------------------------------------------------------------


def invite(body: Any) -> UserInvite:
    """A Viewer invitation as the users service takes it: someone who does not write reports."""
    return UserInvite.model_validate({**body.model_dump(), "can_create_reports": False})


def profile_update(body: Any) -> ProfileUpdate:
    """Only the fields sent (null included) reach the users service, as for AutoScribe's PATCH."""
    return ProfileUpdate.model_validate(body.model_dump(exclude_unset=True))


def invitations_out(session: Session, invitations: list[Invitation]) -> list[Any]:
    return [as_viewer_invitation(out) for out in users_invitations.invitations_out(session, invitations)]
