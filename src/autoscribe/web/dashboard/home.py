"""The signed-in home page. Everyone is greeted; those who run the clinic (owners and admins,
perms.is_manager) also get its overview: studies by status, today's report turnaround, a 14-day
chart of volume and turnaround per modality, and the next steps a new clinic takes.

Turnaround is from the study's arrival (created) to the signature of its original report
(addenda are not counted), in UTC days like every dashboard time. The page takes six indexed
queries whatever the clinic's size: the user's Express customers (their scope), the status
counts (an index-only scan), the studies received in the 14 days (a range of the (clinic_id, id)
index: ids are UUIDv7), the reports signed in them (studies updated since, by the (clinic_id,
updated_at) index, since signing updates the study; then their reports by (study_id, id)), the
clinic's API keys and its radiologists."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from autoscribe.auth import permissions as perms
from autoscribe.auth.context import SessionDep
from autoscribe.auth.models import ApiKey
from autoscribe.clinics.service import BOOTSTRAP_OWNER_NAME
from autoscribe.db import utcnow
from autoscribe.ids import Prefix, brand, id_floor
from autoscribe.reports.models import Report
from autoscribe.studies import service as studies
from autoscribe.studies.models import Study
from autoscribe.studies.schemas import REPORT_STATUSES
from autoscribe.studies.service import StudyFilters, StudyScope
from autoscribe.users import service as users
from autoscribe.users.models import User
from autoscribe.web import charts
from autoscribe.web.deps import DashboardUser
from autoscribe.web.templating import render

router = APIRouter(include_in_schema=False)

DAYS = 14
MODALITY_SERIES = 5  # the busiest modalities get a series each; the rest are "Other"
OTHER = "Other"
STATUS_LABELS = {
    "unassigned": "Unassigned",
    "assigned": "Assigned",
    "in_progress": "In progress",
    "completed": "Completed",
    "addendum_active": "Addendum",
    "cancelled": "Cancelled",
}


def greeting(user: User, clinic_name: str) -> str:
    """ "Welcome, Nora"; an owner still named after their role (the bootstrap's "Clinic Owner")
    is welcomed to the clinic rather than greeted as "Clinic"."""
    if (user.first_name, user.last_name) == BOOTSTRAP_OWNER_NAME:
        return f"Welcome to {clinic_name}"
    return f"Welcome, {user.first_name}"


# ---- numbers -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th quantile (0..1) of sorted `values`, interpolated between the two nearest ranks."""
    if not values:
        raise ValueError("no values")
    position = (len(values) - 1) * q
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def modality_of(raw: str | None) -> str:
    return (raw or "").strip().upper()[:16] or OTHER


def hours_text(hours: float | None) -> str:
    """3 h 05 min, 42 min, 2 d 4 h."""
    if hours is None:
        return "—"
    minutes = round(hours * 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // 1440} d {minutes % 1440 // 60} h"


@dataclass(frozen=True)
class Turnaround:
    reports: int
    median_hours: float | None
    p90_hours: float | None

    @classmethod
    def of(cls, hours: list[float]) -> Turnaround:
        ordered = sorted(hours)
        if not ordered:
            return cls(0, None, None)
        return cls(len(ordered), statistics.median(ordered), percentile(ordered, 0.9))


@dataclass
class Overview:
    counts: dict[str, int]
    today: Turnaround
    days: list[date]
    modalities: list[str] = field(default_factory=list)
    volume: dict[str, list[int]] = field(default_factory=dict)  # per modality, per day
    turnaround: dict[str, list[float | None]] = field(default_factory=dict)  # median hours

    @property
    def labels(self) -> list[str]:
        return [f"{day:%b} {day.day}" for day in self.days]

    @property
    def legend(self) -> list[tuple[str, str]]:
        """(modality, its colour class): "Other" is always the last, grey, colour."""
        last = f"s{charts.PALETTE_SIZE - 1}"
        return [(m, last if m == OTHER else charts.series_class(i)) for i, m in enumerate(self.modalities)]

    def _series(self, values: dict[str, list[int]] | dict[str, list[float | None]]) -> list[charts.Series]:
        return [charts.Series(name, values[name], css) for name, css in self.legend]

    @property
    def volume_chart(self) -> Markup:
        return charts.stacked_bars(
            "volume-chart",
            f"Studies received per day, by modality, last {DAYS} days",
            self.labels,
            self._series(self.volume),
            "studies",
        )

    @property
    def turnaround_chart(self) -> Markup:
        return charts.lines(
            "turnaround-chart",
            f"Median report turnaround per day, by modality, last {DAYS} days",
            self.labels,
            self._series(self.turnaround),
            "hours",
        )


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 3600)


# Only AutoScribe's own studies are read and reported (not archive priors, not Viewer studies).
_READING = (Study.study_type == "standard", Study.is_cancelled.is_(False))


def received_query(scope: StudyScope, since: datetime) -> Select[datetime, str | None]:
    """Studies received since `since`: a range of the (clinic_id, id) index (ids are UUIDv7)."""
    stmt = select(Study.created_at, Study.modality)
    return studies.within_scope(stmt, scope).where(
        Study.id >= id_floor(since), Study.created_at >= since, *_READING
    )


def signed_query(scope: StudyScope, since: datetime) -> Select[datetime, str | None, datetime | None]:
    """Original reports signed since `since`, with their study's arrival: studies updated since
    (signing updates the study: the (clinic_id, updated_at) index), then their reports."""
    stmt = select(Study.created_at, Study.modality, Report.signed_at)
    stmt = stmt.join(Report, Report.study_id == Study.id)
    return studies.within_scope(stmt, scope).where(
        Study.updated_at >= since,
        *_READING,
        Report.is_addendum.is_(False),
        Report.status == "completed",
        Report.signed_at >= since,
    )


def overview(session: Session, scope: StudyScope, now: datetime | None = None) -> Overview:
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    since = datetime.combine(days[0], time.min, tzinfo=UTC)
    index = {day: i for i, day in enumerate(days)}
    result = Overview(studies.count_by_status(session, scope, StudyFilters()), Turnaround.of([]), days)

    received = session.execute(received_query(scope, since))
    signed = session.execute(signed_query(scope, since))

    volume: dict[str, list[int]] = defaultdict(lambda: [0] * DAYS)
    for created_at, modality in received:
        if (day := index.get(created_at.astimezone(UTC).date())) is not None:
            volume[modality_of(modality)][day] += 1
    hours: dict[str, list[list[float]]] = defaultdict(lambda: [[] for _ in days])
    for created_at, modality, signed_at in signed:
        assert signed_at is not None  # the query asks for signed reports
        if (day := index.get(signed_at.astimezone(UTC).date())) is not None:
            hours[modality_of(modality)][day].append(_hours(created_at, signed_at))
    result.today = Turnaround.of([h for per_day in hours.values() for h in per_day[-1]])

    # The busiest modalities (received and signed) each get a series; the rest are summed.
    weight = Counter({m: sum(v) for m, v in volume.items()})
    weight.update({m: sum(len(d) for d in per_day) for m, per_day in hours.items()})
    ranked = [m for m, _ in weight.most_common() if m != OTHER]
    kept = ranked[: MODALITY_SERIES if len(ranked) <= MODALITY_SERIES else MODALITY_SERIES - 1]
    rest = [m for m in weight if m not in kept]
    result.modalities = kept + ([OTHER] if rest else [])
    for name in result.modalities:
        members = [name] if name != OTHER else rest
        result.volume[name] = [sum(volume[m][i] for m in members if m in volume) for i in range(DAYS)]
        per_day = [[h for m in members if m in hours for h in hours[m][i]] for i in range(DAYS)]
        result.turnaround[name] = [statistics.median(d) if d else None for d in per_day]
    return result


# ---- next steps ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    label: str
    href: str
    done: bool
    detail: str


def next_steps(session: Session, user: User) -> list[Step]:
    """What a new clinic does first, each marked done or not; only steps this user can take."""
    steps: list[Step] = []
    if perms.can_manage_api_keys(user):
        rows = session.scalars(select(ApiKey).where(ApiKey.clinic_id == user.clinic_id))
        keys = [k for k in rows if k.is_active]
        with_endpoints = [k for k in keys if k.study_webhook_url or k.report_webhook_url]
        steps.append(
            Step(
                "Create an API key for your PACS or RIS",
                "/api-config",
                bool(keys),
                f"{len(keys)} active key{'s' if len(keys) != 1 else ''}; a key is shown once, when it is "
                "created: create another if you did not keep it."
                if keys
                else "Your PACS creates studies with it, through the API or an official SDK.",
            )
        )
        steps.append(
            Step(
                "Set the webhook endpoints",
                "/api-config",
                bool(with_endpoints),
                "Where image links are asked for and signed reports are delivered (Edit Endpoints).",
            )
        )
    if perms.can_manage_users(user):
        radiologists = users.assignable_radiologists(session, user.clinic_id)
        steps.append(
            Step(
                "Invite a radiologist",
                "/users/invite",
                bool(radiologists),
                f"{len(radiologists)} can be assigned studies."
                if radiologists
                else "Role Radiologist, “Can create reports” and a valid NPI: then studies can be assigned.",
            )
        )
    if (user.first_name, user.last_name) == BOOTSTRAP_OWNER_NAME:
        steps.append(
            Step(
                "Add your name",
                f"/users/{brand(Prefix.USER, user.id)}",
                False,
                "You are “Clinic Owner” until you do: the name the platform shows for you.",
            )
        )
    return steps


# ---- the page ------------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, session: SessionDep, web_user: DashboardUser) -> Response:
    user = web_user.user
    context: dict[str, object] = {
        "greeting": greeting(user, web_user.clinic_name),
        "signed_in_at": web_user.session.created_at,
        "overview": None,
    }
    if perms.is_manager(user):
        context.update(
            overview=overview(session, studies.scope_for_user(session, user)),
            steps=next_steps(session, user),
            statuses=[(s, STATUS_LABELS[s]) for s in (*REPORT_STATUSES, "cancelled")],
            hours_text=hours_text,
            days=DAYS,
        )
    return render(request, "home.html", context)
