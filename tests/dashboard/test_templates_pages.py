"""Templates & macros pages on the scribe service: who may manage them, copies of built-ins, the
structured editor with its errors, activation, deletion, MRRT export and import, macros."""

from __future__ import annotations

import re
import uuid

from tests.conftest import ClinicFixture, Server
from tests.dashboard.conftest import field_error, flash_of, owner_client, sign_in_as, submit
from tests.helpers import csrf_from


def _clinic_templates(clinic: ClinicFixture, include_inactive: bool = False) -> dict[str, object]:
    from autoscribe.db import session_scope
    from autoscribe.dictation import service

    with session_scope() as session:
        if include_inactive:
            rows = service.list_templates(session, uuid.UUID(clinic.clinic_id), include_inactive=True)
            return {r.name: service.row_to_template(r) for r in rows}
        return {t.name: t for t in service.clinic_templates(session, uuid.UUID(clinic.clinic_id))}


def _form_fields(html: str) -> dict[str, str]:
    """The editor's current values, as the browser would send them (checked boxes only)."""
    fields: dict[str, str] = {}
    for match in re.finditer(r"<input ([^>]*)>", html):
        attrs = dict(re.findall(r'([\w.-]+)="([^"]*)"', match.group(1)))
        name = attrs.get("name")
        if not name or name == "csrf_token" or attrs.get("type") == "file":
            continue
        if attrs.get("type") == "checkbox":
            if " checked" in match.group(1):
                fields[name] = attrs.get("value", "on")
            continue
        fields[name] = attrs.get("value", "")
    for match in re.finditer(r'<textarea id="[^"]*" name="([^"]+)"[^>]*>([^<]*)</textarea>', html):
        fields[match.group(1)] = match.group(2)
    for match in re.finditer(r'<select id="[^"]*" name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', match.group(2))
        fields[match.group(1)] = chosen.group(1) if chosen else ""
    return {
        k: v.replace("&#39;", "'").replace("&amp;", "&").replace("&quot;", '"') for k, v in fields.items()
    }


def test_who_manages_templates(server: Server, clinic: ClinicFixture) -> None:
    scheduler = sign_in_as(server, clinic, level="member", can_create_reports=False, npi=None)
    assert scheduler.client.get("/templates").status_code == 403
    assert scheduler.client.get("/templates/macros").status_code == 403
    response = submit(scheduler.client, "/worklist", "/templates/builtin/ct-head/copy", {})
    assert response.status_code == 403
    radiologist = sign_in_as(server, clinic, level="member")
    assert radiologist.client.get("/templates").status_code == 200
    assert 'href="/templates"' in radiologist.client.get("/").text


def test_copy_edit_activate_delete(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    listing = owner.get("/templates").text
    assert "No templates of your own yet" in listing and "MRI knee" in listing
    response = submit(owner, "/templates", "/templates/builtin/mri-knee/copy", {})
    assert "is the clinic's own copy of “MRI knee”" in flash_of(owner, response)
    edit = response.headers["location"]
    html = owner.get(edit).text
    fields = _form_fields(html)
    assert fields["name"] == "MRI knee (clinic)" and fields["modality"] == "MR"
    organ_titles = [v for k, v in fields.items() if re.fullmatch(r"o\d+\.title", k) and v]
    assert len(organ_titles) == 6

    # Change a normal sentence, add an organ (its key made from the title), rename.
    first_normal = next(k for k in fields if re.fullmatch(r"o\d+\.normal", k))
    fields[first_normal] = "The menisci are intact."
    blank = next(k for k, v in fields.items() if re.fullmatch(r"o\d+\.title", k) and not v)
    fields[blank] = "Popliteal cyst"
    fields[blank.replace("title", "normal")] = "No popliteal cyst."
    fields[blank.replace("title", "keywords")] = "baker, popliteal"
    fields["name"] = "Knee MRI (sports)"
    response = submit(owner, edit, edit, fields)
    assert flash_of(owner, response) == "Template “Knee MRI (sports)” saved."
    template = _clinic_templates(clinic)["Knee MRI (sports)"]
    organs = template.organs()  # type: ignore[attr-defined]
    assert organs[0].normal == "The menisci are intact."
    added = organs[-1]
    assert (added.key, added.title, added.keywords) == (
        "poplitealCyst",
        "Popliteal cyst",
        ("baker", "popliteal"),
    )

    # The service's rules, said next to the fields: no Impression section; a name already used.
    html = owner.get(edit).text
    fields = _form_fields(html)
    impression = next(k for k, v in fields.items() if re.fullmatch(r"s\d+\.key", k) and v == "impression")
    broken = {
        **fields,
        impression: "",
        impression.replace("key", "title"): "",
        impression.replace("key", "default"): "",
    }
    response = submit(owner, edit, edit, broken)
    assert response.status_code == 400 and "a template needs a impression section" in response.text
    submit(owner, "/templates", "/templates/builtin/ct-head/copy", {})
    response = submit(owner, edit, edit, {**fields, "name": "CT head (clinic)"})
    assert field_error(response.text, "name") == "This clinic already has a template with that name"

    # Deactivate: kept, no longer offered in the workspace; activate again; delete after confirming.
    ref = edit.split("/")[2]
    response = submit(owner, "/templates", f"/templates/{ref}/active", {})
    assert "no longer offered in the workspace" in flash_of(owner, response)
    assert "Knee MRI (sports)" not in _clinic_templates(clinic)
    assert "Knee MRI (sports)" in _clinic_templates(clinic, include_inactive=True)
    response = submit(owner, "/templates", f"/templates/{ref}/active", {"active": "on"})
    assert "offered in the workspace again" in flash_of(owner, response)
    assert "Delete the template “Knee MRI (sports)”?" in owner.get(f"/templates/{ref}/delete").text
    response = submit(owner, "/templates", f"/templates/{ref}/delete", {})
    assert flash_of(owner, response) == "Template “Knee MRI (sports)” deleted."
    assert set(_clinic_templates(clinic, include_inactive=True)) == {"CT head (clinic)"}
    assert owner.get(f"/templates/{ref}/edit").status_code == 404
    audit = owner.get("/audit-log").text
    assert "scribe_template.created" in audit and "scribe_template.deleted" in audit


def test_a_copy_of_a_builtin_keeps_its_study_scopes_through_an_edit(
    server: Server, clinic: ClinicFixture
) -> None:
    """The editor has no fields for scopes: saving the copy must not drop them (a renal ultrasound
    would again call the liver normal)."""
    from autoscribe.scribe import builtin_template

    owner = owner_client(server, clinic)
    response = submit(owner, "/templates", "/templates/builtin/us-abdomen/copy", {})
    edit = response.headers["location"]
    fields = _form_fields(owner.get(edit).text)
    response = submit(owner, edit, edit, {**fields, "name": "Abdominal US (clinic)"})
    assert flash_of(owner, response) == "Template “Abdominal US (clinic)” saved."
    saved = _clinic_templates(clinic)["Abdominal US (clinic)"]
    builtin = builtin_template("us-abdomen")
    assert builtin is not None and builtin.scopes
    assert saved.scopes == builtin.scopes  # type: ignore[attr-defined]


def test_new_template_and_mrrt_round_trip(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    html = owner.get("/templates/new").text
    fields = _form_fields(html)
    assert [v for k, v in fields.items() if re.fullmatch(r"s\d+\.key", k) and v] == [
        "clinicalIndication", "technique", "comparison", "findings", "impression",
    ]  # fmt: skip
    fields.update(
        {"name": "", "o0.title": "Thyroid", "o0.normal": "The thyroid is normal.", "o0.keywords": "thyroid"}
    )
    response = submit(owner, "/templates/new", "/templates/new", fields)
    assert (
        response.status_code == 400
        and field_error(response.text, "name") == "name must be 1 to 200 characters"
    )
    fields["name"] = "Neck ultrasound"
    fields["modality"] = "US"
    response = submit(owner, "/templates/new", "/templates/new", fields)
    assert "Template “Neck ultrasound” created" in flash_of(owner, response)

    # Export as MRRT (a download), then import it back under another name.
    row = next(m for m in re.finditer(r'id="template-(tpl_[0-9a-f]{32})"', owner.get("/templates").text))
    exported = owner.get(f"/templates/{row.group(1)}/mrrt")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/html")
    assert exported.headers["content-disposition"] == 'attachment; filename="neck-ultrasound.mrrt.html"'
    assert "sandbox" in exported.headers["content-security-policy"]
    document = exported.text
    assert "Thyroid" in document and "The thyroid is normal." in document
    token = csrf_from(owner.get("/templates/import").text)
    again = owner.post(
        "/templates/import",
        data={"csrf_token": token},
        files={"file": ("neck.mrrt.html", document.encode(), "text/html")},
    )
    assert again.status_code == 400 and "already has a template with that name" in again.text
    renamed = document.replace("Neck ultrasound", "Neck US (imported)")
    assert renamed != document
    response = submit(owner, "/templates/import", "/templates/import", {"document": renamed})
    assert "Imported “Neck US (imported)”" in flash_of(owner, response)
    imported = _clinic_templates(clinic)["Neck US (imported)"]
    assert [o.title for o in imported.organs()] == ["Thyroid"]  # type: ignore[attr-defined]
    response = submit(owner, "/templates/import", "/templates/import", {"document": "  "})
    assert field_error(response.text, "document") == "Choose an MRRT file or paste its HTML."
    # Built-ins export too.
    assert "Brain parenchyma" in owner.get("/templates/ct-head/mrrt").text


def test_macros(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    assert "No macros of your own yet" in owner.get("/templates/macros").text
    response = submit(owner, "/templates/macros/new", "/templates/macros/new", {"name": "!", "text": "x"})
    assert response.status_code == 400
    assert field_error(response.text, "name") == "name must be 2 to 60 letters, digits, spaces or hyphens"
    response = submit(
        owner,
        "/templates/macros/new",
        "/templates/macros/new",
        {"name": "Normal  Knee", "text": "The menisci and ligaments are intact."},
    )
    assert flash_of(owner, response) == "Macro “normal knee” saved: dictate “insert normal knee” to use it."
    listing = owner.get("/templates/macros").text
    ref = re.search(r'id="macro-(mac_[0-9a-f]{32})"', listing)
    assert ref and "insert normal knee" in listing
    page = f"/templates/macros/{ref.group(1)}/edit"
    response = submit(owner, page, page, {"name": "normal knee", "text": ""})
    assert field_error(response.text, "text") == "text must be 1 to 10000 characters"
    response = submit(owner, page, page, {"name": "knee normal", "text": "Intact menisci."})
    assert flash_of(owner, response) == "Macro “knee normal” saved."
    from autoscribe.db import session_scope
    from autoscribe.dictation import service

    with session_scope() as session:
        assert service.clinic_macros(session, uuid.UUID(clinic.clinic_id)) == {
            "knee normal": "Intact menisci."
        }
    response = submit(owner, "/templates/macros", f"/templates/macros/{ref.group(1)}/delete", {})
    assert flash_of(owner, response) == "Macro “knee normal” deleted."
    assert "No macros of your own yet" in owner.get("/templates/macros").text
