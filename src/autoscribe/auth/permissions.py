"""Every permission rule in one place, used by the API and the web pages alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from autoscribe.auth.context import ApiContext, ApiContextDep
from autoscribe.errors import InvalidRequest, PermissionDenied, Unprocessable
from autoscribe.ids import Prefix, brand
from autoscribe.users.models import ASSIGNABLE_LEVELS, User
from autoscribe.users.npi import is_valid_npi

_RANK = {"none": 0, "read": 1, "write": 2}


def _allows(granted: str, needed: str) -> bool:
    return _RANK[granted] >= _RANK[needed]


def require_user_access(ctx: ApiContext, needed: str) -> None:
    """The API key's "User access" setting gates every /users route."""
    if not _allows(ctx.api_key.user_access, needed):
        raise PermissionDenied(
            f"This API key's user access is '{ctx.api_key.user_access}'; this call needs '{needed}'"
        )


def require_express_access(ctx: ApiContext, needed: str) -> None:
    """The API key's "Express customer access" setting gates every /v1/express route."""
    if not _allows(ctx.api_key.express_access, needed):
        raise PermissionDenied(
            f"This API key's Express customer access is '{ctx.api_key.express_access}'; "
            f"this call needs '{needed}'"
        )


# FastAPI dependencies: checked before the request body is validated, so a key without access
# gets 403 whatever it sends.
def _user_access(needed: str) -> Callable[[ApiContext], ApiContext]:
    def dependency(ctx: ApiContextDep) -> ApiContext:
        require_user_access(ctx, needed)
        return ctx

    return dependency


def _express_access(needed: str) -> Callable[[ApiContext], ApiContext]:
    def dependency(ctx: ApiContextDep) -> ApiContext:
        require_express_access(ctx, needed)
        return ctx

    return dependency


def require_viewer(ctx: ApiContext, doing: str = "call the Viewer API (/v1/viewer)") -> None:
    """The API key's "Viewer enabled" setting (isViewerEnabled) gates the Viewer product: every
    /v1/viewer route and AutoScribe's viewer-only-reroute-url."""
    if not ctx.api_key.is_viewer_enabled:
        raise PermissionDenied(
            f"The Viewer is not enabled for the API key '{ctx.api_key.description}' (isViewerEnabled is "
            f"false), so it cannot {doing}; the clinic's owner can enable it in API Config"
        )


def viewer_enabled(ctx: ApiContextDep) -> ApiContext:
    require_viewer(ctx)
    return ctx


UsersReader = Annotated[ApiContext, Depends(_user_access("read"))]
UsersWriter = Annotated[ApiContext, Depends(_user_access("write"))]
ExpressReader = Annotated[ApiContext, Depends(_express_access("read"))]
ExpressWriter = Annotated[ApiContext, Depends(_express_access("write"))]


# ---- radiologists ------------------------------------------------------------------------------


def report_permission_problem(user: User) -> str | None:
    """Why this user may not dictate or sign reports, or None when they may."""
    who = f"User {brand(Prefix.USER, user.id)}"
    if not user.is_active:
        return f"{who} has had their access revoked"
    if not user.can_create_reports:
        return f"{who} is not allowed to create reports (canCreateReports is false)"
    if not is_valid_npi(user.npi_number):
        return f"{who} has no valid NPI number; dictating and signing reports requires one"
    return None


def require_can_report(user: User) -> None:
    """Only an active user with canCreateReports and a valid NPI dictates and signs
    (can_create_reports is the rule; report_permission_problem says which part failed)."""
    if not can_create_reports(user):
        raise PermissionDenied(
            report_permission_problem(user) or "This user may not create reports", param="userId"
        )


# ---- people: levels (owner/admin/member) and the three permission flags ----------------------------
#
# Rules take the User row; they hold for the API and the web pages alike. A revoked user passes
# none of them. "Managers" are owners and admins with dashboard access.


def _active(user: User) -> bool:
    return user.is_active and user.joined


def is_owner(user: User) -> bool:
    return user.level == "owner"


def has_dashboard_access(user: User) -> bool:
    """May sign in to the dashboard (the flag; required for admins, always set for owners)."""
    return _active(user) and user.has_dashboard_access


def is_manager(user: User) -> bool:
    return has_dashboard_access(user) and user.level in ("owner", "admin")


def can_manage_users(user: User) -> bool:
    return is_manager(user)


def can_manage_api_keys(user: User) -> bool:
    """API keys open the whole clinic to an integrator: the owner alone manages them."""
    return has_dashboard_access(user) and is_owner(user)


def can_manage_studies(user: User) -> bool:
    """Create studies, edit their metadata, assign work: the canManageStudies flag, or a manager."""
    return user.is_active and (user.can_manage_studies or (user.joined and is_manager(user)))


def can_create_reports(user: User) -> bool:
    """Dictate and sign: the canCreateReports flag with a valid NPI. An invited user who has not
    accepted yet qualifies too (integrators invite radiologists who only ever use temporary
    access views); whether their invitation is still live is checked by the users service."""
    return user.is_active and user.can_create_reports and is_valid_npi(user.npi_number)


def can_view_worklist(user: User) -> bool:
    return has_dashboard_access(user)


def sees_whole_worklist(user: User) -> bool:
    """Those who manage studies see every study they may see (within their Express customers);
    everyone else sees the studies assigned to them (studies.service.scope_for_user)."""
    return can_manage_studies(user)


def can_open_workspace(user: User) -> bool:
    """The reading workspace (dictate, sign) is for radiologists: canCreateReports and a valid NPI."""
    return has_dashboard_access(user) and can_create_reports(user)


def can_open_study(user: User, study_type: str) -> bool:
    """Open a study the user sees on the worklist: a Viewer study's images (nothing to report)
    for anyone with the dashboard; any other study in the reading workspace, for radiologists."""
    return has_dashboard_access(user) if study_type == "viewer" else can_open_workspace(user)


def can_read_reports(user: User) -> bool:
    """Read signed reports (and their PDFs) on the dashboard's study pages, for the studies the
    worklist shows them: managers, those who manage studies, and radiologists."""
    return has_dashboard_access(user) and (
        is_manager(user) or can_manage_studies(user) or can_create_reports(user)
    )


def can_manage_express_customers(user: User) -> bool:
    return is_manager(user)


def can_view_deliveries(user: User) -> bool:
    return is_manager(user)


def can_view_audit_log(user: User) -> bool:
    return is_manager(user)


def can_manage_templates(user: User) -> bool:
    return is_manager(user) or (has_dashboard_access(user) and can_create_reports(user))


def can_edit_user(actor: User, target: User) -> bool:
    """Managers edit users; only the owner edits the owner's own profile."""
    if not can_manage_users(actor) or actor.clinic_id != target.clinic_id:
        return False
    return not is_owner(target) or actor.id == target.id


def can_change_access(actor: User, target: User) -> bool:
    """Revoke / reactivate: managers, never on the owner and never on themselves."""
    return (
        can_manage_users(actor)
        and actor.clinic_id == target.clinic_id
        and not is_owner(target)
        and (actor.id != target.id)
    )


# ---- people: rules on what a user's profile may say -------------------------------------------------


def check_assignable_level(level: str, param: str = "level") -> str:
    """The API (and invitations in general) may set admin or member, never owner."""
    if level == "owner":
        raise Unprocessable(
            "level 'owner' cannot be assigned through the API: a clinic has one owner, set in the dashboard",
            param=param,
        )
    if level not in ASSIGNABLE_LEVELS:
        raise InvalidRequest(f"{param} must be one of: {', '.join(ASSIGNABLE_LEVELS)}", param=param)
    return level


def ensure_api_may_change(user: User, param: str = "userId") -> None:
    """The owner is managed from the dashboard only: the API may read but not change them."""
    if is_owner(user):
        raise PermissionDenied(
            "This user is the clinic owner, who can only be changed from the dashboard", param=param
        )


def check_profile(
    *, level: str, has_dashboard_access: bool, can_create_reports: bool, npi: str | None
) -> None:
    """Rules across fields, checked on the profile as it will be after a change."""
    if level == "admin" and not has_dashboard_access:
        raise Unprocessable(
            "Admins need dashboard access: set hasDashboardAccess to true or level to member",
            param="hasDashboardAccess",
        )
    if npi is not None:
        check_npi(npi)
    if can_create_reports and npi is None:
        raise InvalidRequest(
            "npiNumber is required when canCreateReports is true (the radiologist's 10-digit NPI)",
            param="npiNumber",
        )


def check_npi(npi: str) -> str:
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        raise InvalidRequest("npiNumber must be exactly 10 digits", param="npiNumber")
    if not is_valid_npi(npi):
        raise Unprocessable(
            f"npiNumber {npi} is not a valid NPI: its check digit does not match", param="npiNumber"
        )
    return npi


# ---- web: the sidebar --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavEntry:
    key: str
    label: str
    href: str


_SIDEBAR: tuple[tuple[NavEntry, Callable[[User], bool]], ...] = (
    (NavEntry("worklist", "Worklist", "/worklist"), can_view_worklist),
    (NavEntry("api_config", "API Config", "/api-config"), can_manage_api_keys),
    (NavEntry("dicom", "DICOM", "/dicom"), can_manage_api_keys),
    (NavEntry("users", "Users", "/users"), can_manage_users),
    (NavEntry("express", "Express customers", "/express-customers"), can_manage_express_customers),
    (NavEntry("deliveries", "Deliveries", "/deliveries"), can_view_deliveries),
    (NavEntry("audit", "Audit log", "/audit-log"), can_view_audit_log),
    (NavEntry("templates", "Templates", "/templates"), can_manage_templates),
)


def sidebar_entries(user: User) -> list[NavEntry]:
    return [entry for entry, allowed in _SIDEBAR if allowed(user)]
