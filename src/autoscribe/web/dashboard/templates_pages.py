"""Templates & macros (managers and radiologists: auth.permissions.can_manage_templates): the
clinic's report templates (structured editor, activate/deactivate, delete, IHE MRRT import and
export, copies of the built-ins) and dictation macros. Every rule is the scribe service's."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from autoscribe.auth import permissions as perms
from autoscribe.auth.context import SessionDep
from autoscribe.dictation import service as scribe
from autoscribe.dictation.models import ScribeMacro, ScribeTemplate
from autoscribe.errors import APIError
from autoscribe.ids import Prefix, brand
from autoscribe.scribe.templates import BUILTIN_MACROS, BUILTIN_TEMPLATES, builtin_template
from autoscribe.scribe.types import (
    FINDINGS,
    SECTION_ORDER,
    SECTION_TITLES,
    OrganTemplate,
    SectionTemplate,
    Template,
)
from autoscribe.web.csrf import CsrfProtected
from autoscribe.web.dashboard.common import Form, actor_of, checked, done, errors_from, not_found, text
from autoscribe.web.deps import WebUser, require_permission
from autoscribe.web.templating import render, secure_headers

router = APIRouter(include_in_schema=False)

TemplateEditor = Annotated[WebUser, Depends(require_permission(perms.can_manage_templates))]

BASE = "/templates"
MODALITIES = (
    ("", "Any"),
    ("CT", "CT"),
    ("MR", "MR"),
    ("XR", "XR / CR / DX"),
    ("US", "US"),
    ("MG", "MG"),
    ("NM", "NM"),
    ("PT", "PET"),
)
BLANK_SECTIONS = 2
BLANK_ORGANS = 3
MAX_MRRT_BYTES = 1024 * 1024


def _template_row(session: SessionDep, editor: WebUser, template_id: str) -> ScribeTemplate:
    try:
        return scribe.get_template_row(session, editor.user.clinic_id, template_id)
    except APIError:
        raise not_found("Template") from None


def _macro(session: SessionDep, editor: WebUser, macro_id: str) -> ScribeMacro:
    try:
        return scribe.get_macro(session, editor.user.clinic_id, macro_id)
    except APIError:
        raise not_found("Macro") from None


# ---- the lists ------------------------------------------------------------------------------------------


@router.get(BASE)
def templates_page(request: Request, session: SessionDep, editor: TemplateEditor) -> Response:
    rows = scribe.list_templates(session, editor.user.clinic_id, include_inactive=True)
    clinic = [(row, scribe.row_to_template(row)) for row in rows]
    return render(
        request,
        "dashboard/templates.html",
        {"active": "templates", "tab": "templates", "clinic": clinic, "builtins": BUILTIN_TEMPLATES},
    )


@router.get(BASE + "/macros")
def macros_page(request: Request, session: SessionDep, editor: TemplateEditor) -> Response:
    return render(
        request,
        "dashboard/macros.html",
        {
            "active": "templates",
            "tab": "macros",
            "macros": scribe.list_macros(session, editor.user.clinic_id),
            "builtin_macros": sorted(BUILTIN_MACROS.items()),
        },
    )


# ---- the editor -----------------------------------------------------------------------------------------


def _words(value: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in value.split(",") if w.strip())


def _key_from(title: str) -> str:
    """ "Bones and soft tissues" -> "bonesAndSoftTissues" (what a key may be: letters and digits)."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    key = "".join(w.lower() if i == 0 else w[:1].upper() + w[1:].lower() for i, w in enumerate(words))
    return key if key[:1].isalpha() else ("s" + key if key else "")


def _editor_values(template: Template) -> dict[str, Any]:
    """The form's rows from a template: its sections (plus blank ones), its Findings organs
    (plus blank ones)."""
    sections = [
        {"key": s.key, "title": s.title, "default": s.default, "required": s.required}
        for s in template.sections
    ]
    sections += [{"key": "", "title": "", "default": "", "required": False}] * BLANK_SECTIONS
    organs = [
        {
            "key": o.key,
            "title": o.title,
            "normal": o.normal,
            "normalMale": o.normal_male or "",
            "normalFemale": o.normal_female or "",
            "keywords": ", ".join(o.keywords),
        }
        for o in template.organs()
    ]
    organs += [
        {"key": "", "title": "", "normal": "", "normalMale": "", "normalFemale": "", "keywords": ""}
    ] * BLANK_ORGANS
    return {
        "name": template.name,
        "modality": template.modality,
        "description": template.description,
        "match": ", ".join(template.match),
        "terms": ", ".join(template.terms),
        "sections": sections,
        "organs": organs,
    }


def _blank_template() -> Template:
    return Template(
        id="new",
        name="",
        modality="",
        sections=tuple(
            SectionTemplate(key=key, title=SECTION_TITLES[key], required=key in (FINDINGS, "impression"))
            for key in SECTION_ORDER
        ),
        builtin=False,
    )


def _read_editor(form: FormData, base: Template) -> tuple[Template, dict[str, Any]]:
    """The template the form describes, and the values to show again if it is refused."""
    sections: list[dict[str, Any]] = []
    index = 0
    while f"s{index}.title" in form or f"s{index}.key" in form:
        row: dict[str, Any] = {
            "key": text(form, f"s{index}.key", 60),
            "title": text(form, f"s{index}.title", 200),
            "default": text(form, f"s{index}.default", 10000),
            "required": checked(form, f"s{index}.required"),
        }
        if row["title"] and not row["key"]:
            row["key"] = _key_from(row["title"])
        if row["key"] or row["title"] or row["default"]:
            sections.append(row)
        index += 1
    organs: list[dict[str, Any]] = []
    index = 0
    while f"o{index}.title" in form or f"o{index}.key" in form:
        organ: dict[str, Any] = {
            name: text(form, f"o{index}.{name}", 10000)
            for name in ("key", "title", "normal", "normalMale", "normalFemale", "keywords")
        }
        if organ["title"] and not organ["key"]:
            organ["key"] = _key_from(organ["title"])
        if any(organ.values()):
            organs.append(organ)
        index += 1
    # Organs of sections other than Findings are not edited here; they are kept as they were.
    other_organs = {s.key: s.organs for s in base.sections if s.key != FINDINGS}
    template = Template(
        id=base.id,
        name=text(form, "name", 200),
        modality=text(form, "modality", 10),
        description=text(form, "description", 2000),
        match=_words(text(form, "match", 2000)),
        terms=_words(text(form, "terms", 5000)),
        builtin=False,
        # Study scopes (a renal ultrasound of the abdominal template) are not edited here either.
        scopes=base.scopes,
        sections=tuple(
            SectionTemplate(
                key=s["key"],
                title=s["title"] or s["key"],
                default=s["default"],
                required=bool(s["required"]),
                organs=tuple(
                    OrganTemplate(
                        key=o["key"],
                        title=o["title"] or o["key"],
                        normal=o["normal"],
                        keywords=_words(o["keywords"]),
                        normal_male=o["normalMale"] or None,
                        normal_female=o["normalFemale"] or None,
                    )
                    for o in organs
                )
                if s["key"] == FINDINGS
                else other_organs.get(s["key"], ()),
            )
            for s in sections
        ),
    )
    values: dict[str, Any] = {
        "name": template.name,
        "modality": template.modality,
        "description": template.description,
        "match": text(form, "match", 2000),
        "terms": text(form, "terms", 5000),
        "sections": sections + [{"key": "", "title": "", "default": "", "required": False}] * BLANK_SECTIONS,
        "organs": organs
        + [{"key": "", "title": "", "normal": "", "normalMale": "", "normalFemale": "", "keywords": ""}]
        * BLANK_ORGANS,
    }
    return template, values


def _editor_page(
    request: Request,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    row: ScribeTemplate | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "dashboard/template_form.html",
        {
            "active": "templates",
            "row": row,
            "ref": brand(Prefix.TEMPLATE, row.id) if row else None,
            "values": values,
            "errors": errors,
            "modalities": MODALITIES,
            "findings": FINDINGS,
        },
        status_code=status,
    )


@router.get(BASE + "/new")
def new_template_form(request: Request, editor: TemplateEditor) -> Response:
    return _editor_page(request, values=_editor_values(_blank_template()), errors={})


@router.post(BASE + "/new", dependencies=[CsrfProtected])
def create_template(request: Request, session: SessionDep, editor: TemplateEditor, form: Form) -> Response:
    template, values = _read_editor(form, _blank_template())
    try:
        row = scribe.create_template(
            session, editor.user.clinic_id, template, actor=actor_of(request, editor)
        )
    except APIError as exc:
        session.rollback()
        return _editor_page(request, values=values, errors=errors_from(exc), status=400)
    return done(request, BASE, f"Template “{row.name}” created; it is offered in the workspace from now on.")


@router.get(BASE + "/builtin/{slug}")
def builtin_page(request: Request, editor: TemplateEditor, slug: str) -> Response:
    template = builtin_template(slug)
    if template is None:
        raise not_found("Template")
    return render(
        request,
        "dashboard/template_view.html",
        {"active": "templates", "template": template, "findings": FINDINGS},
    )


@router.post(BASE + "/builtin/{slug}/copy", dependencies=[CsrfProtected])
def copy_builtin(request: Request, session: SessionDep, editor: TemplateEditor, slug: str) -> Response:
    template = builtin_template(slug)
    if template is None:
        raise not_found("Template")
    existing = {
        row.name.lower()
        for row in scribe.list_templates(session, editor.user.clinic_id, include_inactive=True)
    }
    name = f"{template.name} (clinic)"
    number = 2
    while name.lower() in existing:
        name = f"{template.name} (clinic {number})"
        number += 1
    copy = replace(template, id="copy", name=name, builtin=False)
    row = scribe.create_template(session, editor.user.clinic_id, copy, actor=actor_of(request, editor))
    return done(
        request,
        f"{BASE}/{brand(Prefix.TEMPLATE, row.id)}/edit",
        f"“{row.name}” is the clinic's own copy of “{template.name}”: change it here.",
    )


@router.get(BASE + "/{template_id}/edit")
def edit_template_form(
    request: Request, session: SessionDep, editor: TemplateEditor, template_id: str
) -> Response:
    row = _template_row(session, editor, template_id)
    return _editor_page(request, values=_editor_values(scribe.row_to_template(row)), errors={}, row=row)


@router.post(BASE + "/{template_id}/edit", dependencies=[CsrfProtected])
def save_template(
    request: Request, session: SessionDep, editor: TemplateEditor, template_id: str, form: Form
) -> Response:
    row = _template_row(session, editor, template_id)
    ref = brand(Prefix.TEMPLATE, row.id)
    template, values = _read_editor(form, scribe.row_to_template(row))
    try:
        scribe.update_template(session, editor.user.clinic_id, ref, template, actor=actor_of(request, editor))
    except APIError as exc:
        session.rollback()
        row = _template_row(session, editor, template_id)
        return _editor_page(request, values=values, errors=errors_from(exc), row=row, status=400)
    return done(request, BASE, f"Template “{template.name}” saved.")


@router.post(BASE + "/{template_id}/active", dependencies=[CsrfProtected])
def set_active(
    request: Request, session: SessionDep, editor: TemplateEditor, template_id: str, form: Form
) -> Response:
    row = _template_row(session, editor, template_id)
    active = checked(form, "active")
    scribe.update_template(
        session,
        editor.user.clinic_id,
        brand(Prefix.TEMPLATE, row.id),
        is_active=active,
        actor=actor_of(request, editor),
    )
    if active:
        return done(request, BASE, f"“{row.name}” is offered in the workspace again.")
    return done(request, BASE, f"“{row.name}” is no longer offered in the workspace; it is kept here.")


@router.get(BASE + "/{template_id}/delete")
def delete_confirm(
    request: Request, session: SessionDep, editor: TemplateEditor, template_id: str
) -> Response:
    row = _template_row(session, editor, template_id)
    return render(
        request,
        "dashboard/confirm.html",
        {
            "active": "templates",
            "heading": f"Delete the template “{row.name}”?",
            "explanation": "It disappears from the workspace and from this list. Reports already written "
            "with it are not affected. To keep it without offering it, deactivate it instead.",
            "action": f"{BASE}/{brand(Prefix.TEMPLATE, row.id)}/delete",
            "confirm_label": "Delete template",
            "back": BASE,
        },
    )


@router.post(BASE + "/{template_id}/delete", dependencies=[CsrfProtected])
def delete_template(
    request: Request, session: SessionDep, editor: TemplateEditor, template_id: str
) -> Response:
    row = _template_row(session, editor, template_id)
    name = row.name
    scribe.delete_template(
        session, editor.user.clinic_id, brand(Prefix.TEMPLATE, row.id), actor=actor_of(request, editor)
    )
    return done(request, BASE, f"Template “{name}” deleted.")


# ---- MRRT ----------------------------------------------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "template"


@router.get(BASE + "/{template_id}/mrrt")
def export_mrrt(request: Request, session: SessionDep, editor: TemplateEditor, template_id: str) -> Response:
    builtin = builtin_template(template_id)
    name = builtin.name if builtin else _template_row(session, editor, template_id).name
    document = scribe.export_mrrt(session, editor.user.clinic_id, template_id)
    response = Response(
        document.encode("utf-8"),
        media_type="text/html; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_slug(name)}.mrrt.html"'},
    )
    # A download, never a page of this site: no script may run from it even if opened inline.
    return secure_headers(response, csp="default-src 'none'; style-src 'unsafe-inline'; sandbox")


def _import_page(request: Request, document: str, errors: dict[str, str], status: int = 200) -> Response:
    return render(
        request,
        "dashboard/template_import.html",
        {"active": "templates", "document": document, "errors": errors},
        status_code=status,
    )


@router.get(BASE + "/import")
def import_form(request: Request, editor: TemplateEditor) -> Response:
    return _import_page(request, "", {})


@router.post(BASE + "/import", dependencies=[CsrfProtected])
def import_submit(request: Request, session: SessionDep, editor: TemplateEditor, form: Form) -> Response:
    upload = form.get("file")
    document = text(form, "document", MAX_MRRT_BYTES)
    if isinstance(upload, UploadFile) and upload.filename:
        raw = upload.file.read(MAX_MRRT_BYTES + 1)
        if len(raw) > MAX_MRRT_BYTES:
            return _import_page(request, "", {"document": "The file is larger than 1 MB."}, 400)
        document = raw.decode("utf-8", errors="replace")
    if not document.strip():
        return _import_page(request, document, {"document": "Choose an MRRT file or paste its HTML."}, 400)
    try:
        row = scribe.import_mrrt(session, editor.user.clinic_id, document, actor=actor_of(request, editor))
    except APIError as exc:
        session.rollback()
        # Whatever the field the service names (the name taken, the sections), it is the document's.
        return _import_page(request, document[:200_000], {"document": exc.message}, 400)
    return done(
        request,
        f"{BASE}/{brand(Prefix.TEMPLATE, row.id)}/edit",
        f"Imported “{row.name}”. Check its sections and organs, then save.",
    )


# ---- macros --------------------------------------------------------------------------------------------


def _macro_form(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    macro: ScribeMacro | None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "dashboard/macro_form.html",
        {
            "active": "templates",
            "values": values,
            "errors": errors,
            "macro": macro,
            "ref": brand(Prefix.MACRO, macro.id) if macro else None,
        },
        status_code=status,
    )


@router.get(BASE + "/macros/new")
def new_macro_form(request: Request, editor: TemplateEditor) -> Response:
    return _macro_form(request, {}, {}, None)


@router.post(BASE + "/macros/new", dependencies=[CsrfProtected])
def create_macro(request: Request, session: SessionDep, editor: TemplateEditor, form: Form) -> Response:
    values = {"name": text(form, "name", 200), "text": text(form, "text", 10001)}
    try:
        row = scribe.create_macro(
            session, editor.user.clinic_id, values["name"], values["text"], actor=actor_of(request, editor)
        )
    except APIError as exc:
        session.rollback()
        return _macro_form(request, values, errors_from(exc), None, 400)
    return done(
        request, BASE + "/macros", f"Macro “{row.name}” saved: dictate “insert {row.name}” to use it."
    )


@router.get(BASE + "/macros/{macro_id}/edit")
def edit_macro_form(request: Request, session: SessionDep, editor: TemplateEditor, macro_id: str) -> Response:
    macro = _macro(session, editor, macro_id)
    return _macro_form(request, {"name": macro.name, "text": macro.text}, {}, macro)


@router.post(BASE + "/macros/{macro_id}/edit", dependencies=[CsrfProtected])
def save_macro(
    request: Request, session: SessionDep, editor: TemplateEditor, macro_id: str, form: Form
) -> Response:
    macro = _macro(session, editor, macro_id)
    values = {"name": text(form, "name", 200), "text": text(form, "text", 10001)}
    try:
        row = scribe.update_macro(
            session,
            editor.user.clinic_id,
            brand(Prefix.MACRO, macro.id),
            name=values["name"],
            text=values["text"],
            actor=actor_of(request, editor),
        )
    except APIError as exc:
        session.rollback()
        return _macro_form(request, values, errors_from(exc), _macro(session, editor, macro_id), 400)
    return done(request, BASE + "/macros", f"Macro “{row.name}” saved.")


@router.get(BASE + "/macros/{macro_id}/delete")
def delete_macro_confirm(
    request: Request, session: SessionDep, editor: TemplateEditor, macro_id: str
) -> Response:
    macro = _macro(session, editor, macro_id)
    return render(
        request,
        "dashboard/confirm.html",
        {
            "active": "templates",
            "heading": f"Delete the macro “{macro.name}”?",
            "explanation": "Dictating its name no longer inserts its text. "
            "Reports already written keep their text.",
            "action": f"{BASE}/macros/{brand(Prefix.MACRO, macro.id)}/delete",
            "confirm_label": "Delete macro",
            "back": BASE + "/macros",
        },
    )


@router.post(BASE + "/macros/{macro_id}/delete", dependencies=[CsrfProtected])
def delete_macro(request: Request, session: SessionDep, editor: TemplateEditor, macro_id: str) -> Response:
    macro = _macro(session, editor, macro_id)
    name = macro.name
    scribe.delete_macro(
        session, editor.user.clinic_id, brand(Prefix.MACRO, macro.id), actor=actor_of(request, editor)
    )
    return done(request, BASE + "/macros", f"Macro “{name}” deleted.")
