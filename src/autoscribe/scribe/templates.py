"""Report templates: the built-in ones per procedure family, automatic choice, vocabulary, MRRT.

A template has the five report sections (keys shared with the reports service) and, under
Findings, organ subsections, each with a normal default sentence and the words that route a
dictated sentence to it. The built-in templates, macros and base vocabulary are data files
under `scribe/data/` (JSON and plain text), loaded once at import. Clinic-defined templates
(stored per clinic, see `service.py`) use the same shape and can be imported from / exported to
IHE MRRT (HTML5) documents.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from html.parser import HTMLParser

from autoscribe.scribe.section_names import SECTION_OF
from autoscribe.scribe.types import (
    CLINICAL_INDICATION,
    FINDINGS,
    IMPRESSION,
    PLACEHOLDER,
    SECTION_TITLES,
    ExamScope,
    OrganTemplate,
    SectionTemplate,
    Template,
)
from autoscribe.scribe.wordlists import data_lines, data_sections, data_text

# Around the template's normal sentences in the speech model's prompt (see vocabulary_prompt).
PROMPT_OPENING = "Findings colon."
PROMPT_CLOSING = "Impression colon. No acute abnormality period."
# Without a template: a sample of what a dictation sounds like.
DICTATION_STYLE_NORMAL = (
    "The study is unremarkable. No acute abnormality. The lesion measures six millimeters."
)


def _load_builtin_templates() -> tuple[Template, ...]:
    """The built-in templates: data/templates/<id>.json (Template.to_dict's shape, the same as a
    clinic's stored template), in the order data/templates/ORDER.txt gives."""
    loaded = []
    for template_id in data_lines("templates/ORDER.txt"):
        data = json.loads(data_text(f"templates/{template_id}.json"))
        loaded.append(replace(Template.from_dict(data), builtin=True))
    return tuple(loaded)


# Clinical content lives in data files that radiologists can review without reading Python.
# Radiology words every transcription prompt carries, whatever the template.
BASE_VOCABULARY: tuple[str, ...] = data_lines("base_vocabulary.txt")
BUILTIN_TEMPLATES: tuple[Template, ...] = _load_builtin_templates()
# The fallback for procedures without a dedicated template (one of the built-ins).
GENERIC_ID = "generic"
# Built-in macros: spoken "insert <name>" / "macro <name>" expands to the text.
BUILTIN_MACROS: dict[str, str] = json.loads(data_text("macros.json"))


def builtin_template(template_id: str) -> Template | None:
    return next((t for t in BUILTIN_TEMPLATES if t.id == template_id), None)


# ---- choosing a template --------------------------------------------------------------------------

# The words of a study description that name a modality or an angiography (data/procedure_words.txt).
_PROCEDURE_WORDS = data_sections("procedure_words.txt")
_ANGIO_WORDS = _PROCEDURE_WORDS["angiography"]
_INTERVENTION_WORDS = _PROCEDURE_WORDS["procedure"]
_AFTER_AN_INTERVENTION = _PROCEDURE_WORDS["after a procedure"]
_MODALITY_WORDS = {
    family: words
    for family, words in _PROCEDURE_WORDS.items()
    if family not in ("angiography", "procedure", "after a procedure")
}
# Every word of a description that names its modality ("XR", "ultrasound", "cat scan"), longest first.
MODALITY_WORDS = tuple(
    sorted({w for words in _MODALITY_WORDS.values() for w in words}, key=len, reverse=True)
)
# DICOM modality codes → our families.
_DICOM_MODALITY = {
    **{"CT": "CT", "MR": "MR", "CR": "XR", "DX": "XR", "XR": "XR", "US": "US", "MG": "MG"},
    **{"NM": "NM", "PT": "NM", "XA": "XA", "RF": "RF"},
}


def _words_in(text: str, phrases: Iterable[str]) -> list[str]:
    return [p for p in phrases if re.search(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", text)]


def detect_modality(procedure: str, modality: str = "") -> str:
    """The modality family (CT, MR, XR, US, MG; NM, RF, XA, which no built-in template is for) of a
    study, or "" when neither field says."""
    code = _DICOM_MODALITY.get(modality.strip().upper())
    if code:
        return code
    text = procedure.lower()
    for family, words in _MODALITY_WORDS.items():
        if _words_in(text, words):
            return family
    return ""


def _candidates(templates: Sequence[Template] | None) -> list[Template]:
    """A clinic's templates first, then the built-ins they do not replace."""
    candidates = list(templates) if templates is not None else []
    return candidates + [t for t in BUILTIN_TEMPLATES if t.id not in {c.id for c in candidates}]


# A spine study is none of the chest, abdomen or head templates, though it names the region
# ("CT THORACIC SPINE" is not a CT chest): no built-in template has a spine's organs.
_SPINE = re.compile(r"\b(?:spine|spinal|[ctl]-spine)\b", re.I)


def exam_scope(template: Template, procedure: str) -> ExamScope | None:
    """The first of the template's scopes the study description names (and does not cancel)."""
    text = procedure.lower()
    return next(
        (s for s in template.scopes if _words_in(text, s.match) and not _words_in(text, s.unless)), None
    )


def choose_template(
    procedure: str,
    description: str = "",
    modality: str = "",
    templates: Sequence[Template] | None = None,
) -> Template:
    """The best template for a study: modality family first, then procedure words; generic otherwise.

    `templates` lets a clinic's own templates compete with (and, on ties, win over) the built-ins.
    """
    candidates = _candidates(templates)
    text = f"{procedure} {description}".lower()
    family = detect_modality(text, modality)
    angio = bool(_words_in(text, _ANGIO_WORDS))
    # An image-guided procedure's note, not a diagnostic study after one ("XR CHEST POST BIOPSY").
    intervention = bool(_words_in(text, _INTERVENTION_WORDS)) and not _words_in(text, _AFTER_AN_INTERVENTION)
    best: tuple[float, int, Template] | None = None
    for order, template in enumerate(candidates):
        if template.id == GENERIC_ID or not template.match or (intervention and template.builtin):
            continue
        if template.modality and family and template.modality != family:
            continue
        hits = _words_in(text, template.match)
        if not hits or (_SPINE.search(text) and not _SPINE.search(" ".join(template.match))):
            continue
        score = float(sum(len(h.split()) for h in hits))
        if template.modality and template.modality == family:
            score += 0.5
        if angio and template.id == "cta-chest" and family in ("CT", ""):
            score += 2
        if angio and template.id == "ct-chest":
            score -= 1
        if not template.builtin:
            score += 0.25  # a clinic's template beats the built-in one for the same words
        if best is None or score > best[0] or (score == best[0] and order < best[1]):
            best = (score, order, template)
    # An angiogram of several regions keeps its angiography template: its vocabulary (aorta,
    # dissection) is what the dictation is heard with (a CTA chest-abdomen-pelvis heard with the
    # generic one lost words on the dev set).
    if best is not None and (angio or intervention or not _spans_regions(text, best[2], candidates, family)):
        return best[2]
    return next(t for t in candidates if t.id == GENERIC_ID)


def _spans_regions(text: str, best: Template, candidates: Sequence[Template], family: str) -> bool:
    """A study of more than the best template covers ("CT CHEST ABDOMEN PELVIS", a PET-CT from
    skull base to thigh) gets the generic template: one region's normal sentences would assert
    what nobody looked at and leave the rest out."""
    if re.search(r"\bpet\b", text):
        return True
    covered = set(_words_in(text, best.match))
    return any(
        not set(hits) <= covered
        for template in candidates
        if template.id not in (GENERIC_ID, best.id)
        and template.match
        and (not template.modality or not family or template.modality == family)
        and (hits := _words_in(text, template.match))
    )


# Words that name no body part of their own: every template's organs have them (a side, a density).
_NOT_REGION_WORDS = frozenset(
    ("right", "left", "bilateral", "dense", "density", "segment", "fracture", "fractures", "mass", "normal")
)
_MIN_DICTATION_HITS = 4


def template_from_dictation(text: str, templates: Sequence[Template] | None = None) -> Template | None:
    """The template a dictation is about when its study says nothing (no description, no
    modality): the one whose organ words and procedure words it uses most ("the lungs are clear,
    no pleural effusion, the heart size is normal" is a chest). None when no template has
    _MIN_DICTATION_HITS distinct words in it: too little to tell."""
    candidates = _candidates(templates)
    lowered = text.lower()
    family = detect_modality(lowered)
    best: tuple[float, Template] | None = None
    for template in candidates:
        if template.id == GENERIC_ID:
            continue
        words = {k.lower() for o in template.organs() for k in o.keywords} | set(template.match)
        hits = _words_in(lowered, sorted(words - _NOT_REGION_WORDS))
        if len(hits) < _MIN_DICTATION_HITS:
            continue
        score = len(hits) + (0.5 if template.modality and template.modality == family else 0.0)
        if best is None or score > best[0]:  # on a tie the earlier (a clinic's) template stays
            best = (score, template)
    return best[1] if best else None


def spoken_style(text: str) -> str:
    """Report text as a radiologist dictates it: "No effusion. Heart normal." → "No effusion period.
    Heart normal period." (commas are not dictated: the model then adds none of its own)."""
    text = re.sub(r"\.(?=\s|$)", " period.", text.replace(",", ""))
    return re.sub(r"\s+", " ", text).strip()


def vocabulary_prompt(template: Template | None = None, extra: Iterable[str] = (), limit: int = 700) -> str:
    """The initial prompt for the speech model: the active template's terms (and `extra`, e.g. macro
    names), then its organs' normal sentences as dictated ("... period."), ending with the headings.

    Whisper takes the prompt as the text said just before, and continues its style: dictated
    sentences about this very study type teach it the words, "period" as a word and the "The" that
    starts a sentence (on bench/scribe.py they cut WER more than a word list; a word list alone
    even hurt). Whisper keeps at most 224 prompt tokens; `limit` characters stays well below that.
    """
    words: list[str] = list(extra)
    if template is not None:
        words.extend(template.terms)
    else:
        words.extend(BASE_VOCABULARY)
    head = ""
    for word in dict.fromkeys(w for w in words if w):
        if len(head) + len(word) > limit // 3:  # leave room for the sentences
            break
        head += (", " if head else "") + word
    head = f"Vocabulary: {head}. " if head else ""
    organs = template.organs() if template is not None else ()
    # An organ may have no normal sentence, or a placeholder (breast density is the radiologist's).
    sentences = [spoken_style(o.normal) for o in organs if o.normal and PLACEHOLDER not in o.normal]
    sentences = sentences or [spoken_style(DICTATION_STYLE_NORMAL)]
    budget = limit - len(head) - len(PROMPT_OPENING) - len(PROMPT_CLOSING) - 2
    body = ""
    for sentence in sentences:
        if len(body) + len(sentence) + 1 > budget:
            break
        body += " " + sentence
    return f"{head}{PROMPT_OPENING}{body} {PROMPT_CLOSING}"[:limit]


# ---- IHE MRRT (HTML5) ---------------------------------------------------------------------------------


def to_mrrt(template: Template) -> str:
    """An IHE MRRT report template (HTML5): sections as <section>, organs as level-2 sections with a
    text field holding the normal sentence. AutoScribe-specific data rides in data-* attributes and
    meta tags, which MRRT consumers ignore."""
    esc = html.escape
    scopes = json.dumps([scope.to_dict() for scope in template.scopes])
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="UTF-8">',
        f"<title>{esc(template.name)}</title>",
        f'<meta name="dcterms.title" content="{esc(template.name)}">',
        f'<meta name="dcterms.identifier" content="{esc(template.id)}">',
        f'<meta name="dcterms.description" content="{esc(template.description)}">',
        '<meta name="dcterms.type" content="IMAGE_REPORT_TEMPLATE">',
        '<meta name="dcterms.language" content="en">',
        '<meta name="dcterms.publisher" content="AutoScribe">',
        f'<meta name="autoscribe.modality" content="{esc(template.modality)}">',
        f'<meta name="autoscribe.match" content="{esc("|".join(template.match))}">',
        f'<meta name="autoscribe.terms" content="{esc("|".join(template.terms))}">',
        *([f'<meta name="autoscribe.scopes" content="{esc(scopes)}">'] if template.scopes else []),
        '<script type="text/xml">',
        "<template_attributes><top-level-flag>true</top-level-flag><status>ACTIVE</status>"
        "</template_attributes>",
        "</script>",
        "</head>",
        "<body>",
    ]
    for section in template.sections:
        lines.append(
            f'<section id="{esc(section.key)}" class="level1" data-section-name="{esc(section.title)}"'
            f' data-required="{"true" if section.required else "false"}">'
        )
        lines.append(f'<header class="level1">{esc(section.title)}</header>')
        if section.default or not section.organs:
            fid = f"{section.key}.text"
            lines.append(
                f'<p><label for="{esc(fid)}">{esc(section.title)}</label>'
                f'<textarea id="{esc(fid)}" name="{esc(section.title)}" data-field-type="TEXT">'
                f"{esc(section.default)}</textarea></p>"
            )
        for organ in section.organs:
            fid = f"{section.key}.{organ.key}"
            extra = ""
            if organ.normal_male:
                extra += f' data-normal-male="{esc(organ.normal_male)}"'
            if organ.normal_female:
                extra += f' data-normal-female="{esc(organ.normal_female)}"'
            lines.append(
                f'<section id="{esc(fid)}" class="level2" data-section-name="{esc(organ.title)}"'
                f' data-keywords="{esc("|".join(organ.keywords))}"{extra}>'
            )
            lines.append(f'<header class="level2">{esc(organ.title)}</header>')
            lines.append(
                f'<p><label for="{esc(fid)}.text">{esc(organ.title)}</label>'
                f'<textarea id="{esc(fid)}.text" name="{esc(organ.title)}" data-field-type="TEXT">'
                f"{esc(organ.normal)}</textarea></p>"
            )
            lines.append("</section>")
        lines.append("</section>")
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines)


class _MrrtParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self.stack: list[dict[str, object]] = []  # open <section>s
        self.sections: list[dict[str, object]] = []
        self._capture: str | None = None  # "title" | "header" | "field"
        self._text: list[str] = []
        self._field_value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content", "")
        elif tag == "title":
            self._capture, self._text = "title", []
        elif tag == "section":
            node: dict[str, object] = {
                "id": a.get("id", ""),
                "title": a.get("data-section-name", ""),
                "required": a.get("data-required") == "true",
                "keywords": [k for k in a.get("data-keywords", "").split("|") if k],
                "normalMale": a.get("data-normal-male") or None,
                "normalFemale": a.get("data-normal-female") or None,
                "text": [],
                "children": [],
            }
            if self.stack:
                children = self.stack[-1]["children"]
                assert isinstance(children, list)
                children.append(node)
            else:
                self.sections.append(node)
            self.stack.append(node)
        elif tag == "header" and self.stack:
            self._capture, self._text = "header", []
        elif tag in ("textarea",) and self.stack:
            self._capture, self._text = "field", []
        elif tag == "input" and self.stack:
            value = a.get("value", "")
            if value:
                texts = self.stack[-1]["text"]
                assert isinstance(texts, list)
                texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._capture == "title":
            self.title = "".join(self._text).strip()
            self._capture = None
        elif tag == "header" and self._capture == "header":
            if self.stack and not self.stack[-1]["title"]:
                self.stack[-1]["title"] = "".join(self._text).strip()
            self._capture = None
        elif tag == "textarea" and self._capture == "field":
            texts = self.stack[-1]["text"]
            assert isinstance(texts, list)
            value = "".join(self._text).strip()
            if value:
                texts.append(value)
            self._capture = None
        elif tag == "section" and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._capture:
            self._text.append(data)


# A template's section, by its title or its node id ("clinicalindication" in RadReport's templates).
_SECTION_ALIASES = {**SECTION_OF, "clinicalindication": CLINICAL_INDICATION}


def _section_key(node_id: str, title: str) -> str:
    for candidate in (node_id, title):
        key = _SECTION_ALIASES.get(candidate.strip().lower())
        if key:
            return key
    return re.sub(r"[^A-Za-z0-9]+", "", title.title()) or node_id or "section"


def _organ_key(node_id: str, title: str) -> str:
    tail = node_id.rsplit(".", 1)[-1] if node_id else ""
    if tail:
        return tail
    words = re.findall(r"[A-Za-z0-9]+", title)
    return (words[0].lower() + "".join(w.title() for w in words[1:])) if words else "organ"


def from_mrrt(document: str, *, template_id: str | None = None) -> Template:
    """Read an IHE MRRT template. Sections whose names are the usual report sections map onto our
    keys; level-2 sections under Findings become organs. Unknown sections are kept by name."""
    parser = _MrrtParser()
    parser.feed(document)
    parser.close()
    name = parser.meta.get("dcterms.title") or parser.title or "Imported template"
    sections: list[SectionTemplate] = []
    for node in parser.sections:
        title = str(node["title"]) or str(node["id"])
        key = _section_key(str(node["id"]), title)
        texts = node["text"]
        assert isinstance(texts, list)
        organs = []
        children = node["children"]
        assert isinstance(children, list)
        for child in children:
            ctitle = str(child["title"]) or str(child["id"])
            ctexts = child["text"]
            kws = child["keywords"]
            assert isinstance(ctexts, list) and isinstance(kws, list)
            organs.append(
                OrganTemplate(
                    key=_organ_key(str(child["id"]), ctitle),
                    title=ctitle,
                    normal=" ".join(str(t) for t in ctexts),
                    keywords=tuple(str(k) for k in kws)
                    or tuple(w.lower() for w in re.findall(r"[A-Za-z]+", ctitle) if len(w) > 3),
                    normal_male=child["normalMale"] if isinstance(child["normalMale"], str) else None,
                    normal_female=child["normalFemale"] if isinstance(child["normalFemale"], str) else None,
                )
            )
        required = bool(node["required"]) or key in (FINDINGS, IMPRESSION)
        sections.append(SectionTemplate(key, title, " ".join(str(t) for t in texts), required, tuple(organs)))
    keys = {s.key for s in sections}
    # A report needs at least findings and impression to be mapped into.
    for key in (FINDINGS, IMPRESSION):
        if key not in keys:
            sections.append(SectionTemplate(key, SECTION_TITLES[key], "", True))
    return Template(
        id=template_id or parser.meta.get("dcterms.identifier") or re.sub(r"[^a-z0-9]+", "-", name.lower()),
        name=name,
        modality=parser.meta.get("autoscribe.modality", ""),
        description=parser.meta.get("dcterms.description", name),
        match=tuple(m for m in parser.meta.get("autoscribe.match", "").split("|") if m),
        terms=tuple(t for t in parser.meta.get("autoscribe.terms", "").split("|") if t),
        sections=tuple(sections),
        builtin=False,
        scopes=_scopes_from_meta(parser.meta.get("autoscribe.scopes", "")),
    )


def _scopes_from_meta(content: str) -> tuple[ExamScope, ...]:
    """The study scopes an AutoScribe export carries; none when the meta is missing or unreadable
    (the template is still usable: every organ then gets its normal sentence)."""
    try:
        data = json.loads(content) if content else []
        return tuple(ExamScope.from_dict(item) for item in data if isinstance(item, dict))
    except (ValueError, TypeError, AttributeError):
        return ()
