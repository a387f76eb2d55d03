// AutoScribe workspace: the report pane.
//
// Opening the page only reads: when the reader may edit (body data-start), this script starts the
// report with POST .../report/start, which opens or resumes the draft and, the first time, asks
// the integrator's EHR for the clinical context; its answer brings the draft, the context and the
// priors panel as they now are.
//
// Autosave (debounced, each save names the version it was based on; a 409 means the draft was
// saved elsewhere: autosave stops and the page offers "load the saved version (keep my text
// aside)" or "save my text over it", so text is never dropped silently), signing with a
// confirmation that names the signer, addenda, keyboard shortcuts.
//
// An impression the dictation engine suggested (none was dictated) is saved with
// impressionSuggested: true and shows "Suggested" with an Accept button; any edit of the
// impression (typing, moving a sentence, setting it through the API) or Accept clears it.
//
// Hooks for the dictation engine: window.AutoScribeReport (see the bottom of this file) and the
// "autoscribe:report-ready" / "autoscribe:report-change" / "autoscribe:report-signed" events on
// document. Plain script, no build step.
(function () {
  "use strict";

  const SECTIONS = ["clinicalIndication", "technique", "comparison", "findings", "impression"];
  const AUTOSAVE_MS = 800;
  const RETRY_MS = 3000;

  const body = document.body;
  const area = document.getElementById("report-area");
  if (!area) return;
  const studyId = body.dataset.studyId;
  const mode = body.dataset.mode;
  const base = "/workspace/" + encodeURIComponent(studyId);
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const dialog = document.getElementById("sign-dialog");

  const state = {
    reportId: null,
    version: null,
    dirty: false,
    saving: null,
    timer: null,
    conflict: false,
    ended: false,
    checks: [],
    listeners: [],
    extraResults: null,
    lastField: null,
  };

  // ---- server calls -------------------------------------------------------------------------

  async function call(method, path, payload) {
    const headers = { Accept: "application/json", "X-CSRF-Token": csrf };
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(base + path, {
      method,
      credentials: "same-origin",
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    const err = data && data.error;
    let message = "";
    if (!resp.ok) {
      message = err ? (typeof err === "string" ? err : err.message) : "";
      if (!message) message = "The server refused this (HTTP " + resp.status + "). Reload the page.";
    }
    return { ok: resp.ok, status: resp.status, data, message };
  }

  // ---- the form -----------------------------------------------------------------------------

  function form() {
    return document.getElementById("report-form");
  }

  function field(name) {
    const f = form();
    return f ? f.querySelector('[data-section="' + name + '"]') : null;
  }

  function fields() {
    const f = form();
    if (!f) return [];
    return Array.from(f.querySelectorAll("textarea:not([readonly]), input[type=text], input[type=checkbox]"));
  }

  function readSubsections() {
    return Array.from(form().querySelectorAll("[data-subsection]")).map((li) => ({
      heading: li.querySelector('[data-field="heading"]').value,
      text: li.querySelector('[data-field="text"]').value,
    }));
  }

  function addSubsection(heading, text) {
    const tpl = document.getElementById("subsection-template");
    const li = tpl.content.firstElementChild.cloneNode(true);
    li.querySelector('[data-field="heading"]').value = heading || "";
    li.querySelector('[data-field="text"]').value = text || "";
    document.getElementById("subsections").append(li);
    return li;
  }

  function setSubsections(list) {
    const ol = document.getElementById("subsections");
    ol.textContent = "";
    for (const sub of list || []) addSubsection(sub && sub.heading, sub && sub.text);
  }

  /** The draft as the editor shows it: {clinicalIndication, technique, comparison,
   *  findings: {text, subsections: [{heading, text}]}, impression, isCritical,
   *  impressionSuggested}; null when no draft is being edited. */
  function getContent() {
    if (!form()) return null;
    const suggested = field("impressionSuggested");
    return {
      clinicalIndication: field("clinicalIndication").value,
      technique: field("technique").value,
      comparison: field("comparison").value,
      findings: { text: field("findings").value, subsections: readSubsections() },
      impression: field("impression").value,
      isCritical: field("isCritical").checked,
      impressionSuggested: !!suggested && suggested.value === "true",
    };
  }

  /** Mark the impression as the engine's suggestion (or as the radiologist's: false). */
  function setSuggested(on) {
    const input = field("impressionSuggested");
    if (!input) return;
    input.value = on ? "true" : "false";
    const label = document.getElementById("impression-suggested");
    if (label) label.hidden = !on;
  }

  function requireEditor() {
    if (!form()) throw new Error("No report draft is open for editing");
  }

  function put(name, value) {
    if (name === "findings" && value !== null && typeof value === "object") {
      field("findings").value = value.text == null ? "" : String(value.text);
      if (Array.isArray(value.subsections)) setSubsections(value.subsections);
    } else if (name === "subsections") {
      setSubsections(Array.isArray(value) ? value : []);
    } else if (name === "isCritical") {
      field("isCritical").checked = !!value;
    } else if (name === "impressionSuggested") {
      setSuggested(!!value);
    } else if (SECTIONS.includes(name)) {
      const text = value == null ? "" : String(value);
      if (name === "impression" && field(name).value !== text) setSuggested(false); // not the suggestion now
      field(name).value = text;
    } else {
      throw new Error("Unknown report section: " + name);
    }
  }

  /** Replace one section ("clinicalIndication", "technique", "comparison", "findings",
   *  "impression"; "findings" also takes {text, subsections}; "subsections" a list;
   *  "isCritical" a boolean). Autosaves like typing does. */
  function setSection(name, value) {
    requireEditor();
    put(name, value);
    changed("api");
  }

  /** Replace several sections at once (any subset of getContent()'s shape). */
  function setContent(content) {
    requireEditor();
    const entries = Object.entries(content || {});
    // impressionSuggested describes the impression given with it: set after it.
    entries.sort((a, b) => (a[0] === "impressionSuggested") - (b[0] === "impressionSuggested"));
    for (const [name, value] of entries) put(name, value);
    changed("api");
  }

  /** Add text at the end of a section (a space or new line is inserted when needed). */
  function appendToSection(name, text) {
    requireEditor();
    const el = field(name);
    if (!el || el.type === "checkbox") throw new Error("Cannot append to " + name);
    el.value = joined(el.value, text);
    if (name === "impression") setSuggested(false);
    changed("api");
  }

  // Text added after a field's own: a space after a full sentence, else a new line.
  function joined(current, text) {
    const sep = !current || /\s$/.test(current) ? "" : /[.!?:]$/.test(current.trim()) ? " " : "\n";
    return current + sep + text;
  }

  function getSection(name) {
    const content = getContent();
    if (!content) return null;
    if (name === "subsections") return content.findings.subsections;
    return content[name];
  }

  function focusSection(name) {
    const el = field(name);
    if (el) el.focus();
  }

  // ---- save state ---------------------------------------------------------------------------

  function setStatus(text, kind) {
    const el = document.getElementById("save-status");
    if (!el) return;
    el.textContent = text;
    el.dataset.state = kind || "";
  }

  function changed(source) {
    if (!form()) return;
    state.dirty = true;
    // Organ fields can appear, go or be renamed; typing in a text field changes none of them.
    if (source !== "user" || (document.activeElement && document.activeElement.dataset.field === "heading")) {
      fillMoveTargets();
    }
    if (!state.conflict && !state.ended) {
      setStatus("Unsaved changes…", "pending");
      clearTimeout(state.timer);
      state.timer = setTimeout(save, AUTOSAVE_MS);
    }
    const content = getContent();
    for (const fn of state.listeners) {
      try {
        fn(content, { source });
      } catch (e) {
        console.error(e);
      }
    }
    document.dispatchEvent(new CustomEvent("autoscribe:report-change", { detail: { content, source } }));
  }

  /** Save now (waits for a save in flight). Resolves true when everything typed is saved. */
  async function save() {
    clearTimeout(state.timer);
    if (!form() || state.conflict || state.ended) return !state.dirty;
    while (state.saving) await state.saving;
    if (!state.dirty) return true;
    const content = getContent();
    state.dirty = false;
    const attempt = (async () => {
      setStatus("Saving…", "pending");
      let resp;
      try {
        resp = await call("PUT", "/report/draft", {
          reportId: state.reportId,
          baseVersion: state.version,
          content,
        });
      } catch (e) {
        state.dirty = true;
        setStatus("Not saved: the server cannot be reached. Retrying…", "error");
        state.timer = setTimeout(save, RETRY_MS);
        return false;
      }
      if (resp.ok) {
        state.version = resp.data.version;
        if (form()) form().dataset.version = String(state.version);
        if (state.dirty) setStatus("Unsaved changes…", "pending");
        else setStatus("Saved · version " + state.version, "ok");
        return true;
      }
      state.dirty = true;
      if (resp.status === 409) showConflict();
      else if (resp.status === 401) sessionEnded(resp.message);
      else setStatus("Not saved: " + resp.message, "error");
      return false;
    })();
    state.saving = attempt;
    try {
      return await attempt;
    } finally {
      if (state.saving === attempt) state.saving = null;
    }
  }

  function sessionEnded(message) {
    state.ended = true;
    clearTimeout(state.timer);
    setStatus("Not saved: " + message + " Your text is still on this page: copy it before leaving.", "error");
    setSignEnabled(false);
  }

  function setSignEnabled(on) {
    const f = form();
    if (!f) return;
    const b = f.querySelector('[data-action="sign"]');
    if (b) b.disabled = !on;
  }

  // ---- conflicts: never drop text ------------------------------------------------------------

  function showConflict() {
    state.conflict = true;
    clearTimeout(state.timer);
    setStatus("Not saved: this draft was changed elsewhere", "error");
    document.getElementById("conflict").hidden = false;
    setSignEnabled(false);
  }

  function plainText(content) {
    const parts = [];
    const add = (title, text) => {
      if (text && text.trim()) parts.push(title + ":\n" + text.trim());
    };
    add("CLINICAL INDICATION", content.clinicalIndication);
    add("TECHNIQUE", content.technique);
    add("COMPARISON", content.comparison);
    const subs = content.findings.subsections
      .filter((s) => (s.heading + s.text).trim())
      .map((s) => (s.heading.trim() ? s.heading.trim() + ": " : "") + s.text.trim());
    add("FINDINGS", [content.findings.text.trim(), ...subs].filter(Boolean).join("\n"));
    add("IMPRESSION", content.impression);
    return parts.join("\n\n");
  }

  async function loadTheirs() {
    const mine = getContent();
    const resp = await call("GET", "/report");
    if (!resp.ok) {
      setStatus("Could not load the saved version: " + resp.message, "error");
      return;
    }
    swap(resp.data);
    if (mine) showAside(plainText(mine));
  }

  /** Keep text the server did not take on the page, read-only, to copy from. */
  function showAside(text) {
    let aside = document.getElementById("aside");
    if (!aside) {
      // No editor any more (the draft was signed or discarded elsewhere): a box of its own.
      aside = document.createElement("div");
      aside.id = "aside";
      aside.className = "ws-aside";
      aside.innerHTML =
        '<p><strong>Your unsaved text</strong> — the draft was signed or discarded elsewhere.</p>' +
        '<label for="aside-text" class="visually-hidden">Your unsaved text</label>' +
        '<textarea id="aside-text" rows="8" readonly></textarea>' +
        '<button type="button" class="button secondary" data-action="dismiss-aside">Dismiss</button>';
      area.prepend(aside);
    }
    document.getElementById("aside-text").value = text;
    aside.hidden = false;
    document.getElementById("aside-text").focus();
  }

  async function keepMine() {
    const resp = await call("GET", "/report");
    if (!resp.ok) {
      setStatus("Could not check the saved version: " + resp.message, "error");
      return;
    }
    if (resp.data.reportId !== state.reportId) {
      // Signed or discarded elsewhere: nothing left to save over; keep the text visible.
      await loadTheirs();
      return;
    }
    state.version = resp.data.version;
    state.conflict = false;
    state.dirty = true;
    document.getElementById("conflict").hidden = true;
    setSignEnabled(true);
    await save();
  }

  // ---- signing ------------------------------------------------------------------------------

  /** One check result as a list item (shared with the dictation panel). */
  function checkItem(level, message, where) {
    const li = document.createElement("li");
    const known = ["error", "warning", "info"].includes(level) ? level : "info";
    li.className = "ws-check ws-check--" + known;
    li.dataset.level = known;
    li.textContent = String(message || "") + (where ? " (" + where + ")" : "");
    return li;
  }

  function renderChecks(results, note) {
    const box = document.getElementById("sign-checks");
    if (!box) return;
    box.textContent = "";
    if (note) {
      const p = document.createElement("p");
      p.className = "muted small";
      p.textContent = note;
      box.append(p);
    }
    if (!results || !results.length) return;
    const h = document.createElement("h3");
    h.className = "ws-h3";
    h.textContent = "Checks before signing";
    const ul = document.createElement("ul");
    for (const r of results) {
      const li = checkItem(r.level, r.message, r.section);
      const level = li.dataset.level;
      li.textContent = (level === "error" ? "Must fix: " : level === "warning" ? "Check: " : "") + li.textContent;
      ul.append(li);
    }
    box.append(h, ul);
  }

  async function runChecks(content) {
    const results = [];
    for (const check of state.checks) {
      try {
        const out = await check(content, { reportId: state.reportId, studyId });
        if (Array.isArray(out)) results.push(...out);
      } catch (e) {
        results.push({ level: "warning", message: "A pre-sign check could not run: " + (e && e.message ? e.message : e) });
      }
    }
    if (state.extraResults) results.push(...state.extraResults);
    return results;
  }

  function applyResults(results) {
    renderChecks(results);
    const blocked = results.some((r) => r.level === "error");
    const confirm = document.getElementById("sign-confirm");
    confirm.disabled = blocked;
    confirm.title = blocked ? "Fix the problems listed before signing" : "";
  }

  async function openSignDialog() {
    if (!form() || !dialog || state.conflict || state.ended) return;
    setStatus("Saving before signing…", "pending");
    const ok = await save();
    if (!ok) return; // the status line says why
    const content = getContent();
    document.getElementById("sign-critical").hidden = !content.isCritical;
    document.getElementById("sign-title").textContent =
      form().dataset.addendum === "true" ? "Sign this addendum?" : "Sign this report?";
    const error = document.getElementById("sign-error");
    error.hidden = true;
    error.textContent = "";
    const confirm = document.getElementById("sign-confirm");
    confirm.disabled = state.checks.length > 0;
    renderChecks(state.extraResults, state.checks.length ? "Running checks…" : "");
    dialog.showModal();
    confirm.focus();
    if (state.checks.length || state.extraResults) {
      const results = await runChecks(content);
      if (dialog.open) applyResults(results);
      if (!confirm.disabled) confirm.focus();
    }
  }

  async function confirmSign() {
    const confirm = document.getElementById("sign-confirm");
    const error = document.getElementById("sign-error");
    confirm.disabled = true;
    const content = getContent();
    let resp;
    try {
      resp = await call("POST", "/report/sign", {
        reportId: state.reportId,
        baseVersion: state.version,
        isCritical: content.isCritical,
      });
    } catch (e) {
      resp = { ok: false, status: 0, message: "The server cannot be reached; the report was not signed." };
    }
    if (!resp.ok) {
      error.textContent = resp.message;
      error.hidden = false;
      confirm.disabled = false;
      if (resp.status === 409 && /changed since/.test(resp.message)) {
        dialog.close();
        showConflict();
      }
      return;
    }
    const signedId = state.reportId;
    state.dirty = false;
    state.extraResults = null;
    dialog.close();
    swap(resp.data);
    setAnnouncement("Signed.");
    const doc = document.getElementById("report-document");
    if (doc) doc.focus();
    document.dispatchEvent(new CustomEvent("autoscribe:report-signed", { detail: { reportId: signedId } }));
  }

  function setAnnouncement(text) {
    let live = document.getElementById("ws-announce");
    if (!live) {
      live = document.createElement("p");
      live.id = "ws-announce";
      live.className = "visually-hidden";
      live.setAttribute("role", "status");
      body.append(live);
    }
    live.textContent = text;
  }

  // ---- addenda --------------------------------------------------------------------------------

  async function act(path, payload, done) {
    const resp = await call("POST", path, payload);
    if (!resp.ok) {
      window.alert(resp.message);
      return;
    }
    swap(resp.data);
    setAnnouncement(done);
    const first = field("clinicalIndication");
    if (first) first.focus();
  }

  // ---- rendering ------------------------------------------------------------------------------

  /** Replace the report area with the server's rendering of the pane. */
  function swap(pane) {
    clearTimeout(state.timer);
    area.innerHTML = pane.html; // server-rendered and escaped by the template
    bind();
  }

  function bind() {
    const f = form();
    state.conflict = false;
    state.dirty = false;
    state.reportId = f ? f.dataset.reportId : null;
    state.version = f ? Number(f.dataset.version) : null;
    if (f) fillMoveTargets();
    if (f) document.dispatchEvent(new CustomEvent("autoscribe:report-ready", { detail: api }));
  }

  // ---- starting the report ----------------------------------------------------------------------

  function replaceHtml(id, html) {
    const el = document.getElementById(id);
    if (el && typeof html === "string") el.innerHTML = html; // server-rendered and escaped
  }

  async function start() {
    let resp;
    try {
      resp = await call("POST", "/report/start");
    } catch (e) {
      resp = { ok: false, status: 0, message: "The server cannot be reached. Reload the page to open the report." };
    }
    if (!resp.ok) {
      if (resp.status === 401) {
        sessionEnded(resp.message);
        return;
      }
      const message = "The report could not be opened: " + resp.message;
      const waiting = document.getElementById("report-starting");
      if (waiting) {
        waiting.className = "alert";
        waiting.setAttribute("role", "alert");
        waiting.textContent = message;
      } else {
        setStatus(message, "error"); // a resumed draft is on screen: say it in the status line
      }
      return;
    }
    const pane = resp.data;
    replaceHtml("clinical-context-area", pane.clinicalContextHtml);
    replaceHtml("priors", pane.priorsHtml);
    // The draft shown already, unchanged: keep the editor (and whatever is being typed in it).
    if (form() && pane.reportId === state.reportId && pane.version === state.version) return;
    // Typed text is never replaced: its save meets the new version with a 409, and the page
    // offers both versions. Nor is a newer version on screen (an autosave landed first) or a
    // draft that is being dictated into.
    if (state.dirty || state.saving) return;
    if (form() && pane.reportId === state.reportId && pane.version < state.version) return;
    const mic = document.getElementById("dictate-button");
    if (form() && mic && mic.dataset.state && !["idle", "error"].includes(mic.dataset.state)) return;
    swap(pane);
  }

  // ---- moving a sentence ----------------------------------------------------------------------

  // The text fields a sentence can go to, labelled as the radiologist sees them.
  function moveTargets() {
    const f = form();
    if (!f) return [];
    const out = [];
    for (const el of f.querySelectorAll("textarea[data-section]:not([readonly])")) {
      const label = f.querySelector('label[for="' + el.id + '"]');
      const name = label ? label.textContent.trim() : el.dataset.section;
      out.push({ el, label: el.dataset.section === "findings" ? "Findings (general)" : name });
    }
    for (const li of f.querySelectorAll("[data-subsection]")) {
      const heading = li.querySelector('[data-field="heading"]').value.trim() || "(organ without a name)";
      out.push({ el: li.querySelector('[data-field="text"]'), label: "Findings: " + heading });
    }
    return out;
  }

  function fillMoveTargets() {
    const select = document.getElementById("move-target");
    if (!select) return;
    const chosen = select.selectedIndex >= 0 ? select.options[select.selectedIndex].text : "";
    select.textContent = "";
    for (const t of moveTargets()) select.append(new Option(t.label, t.label, false, t.label === chosen));
  }

  // The selected text, else the sentence around the cursor. A sentence ends at a line break or
  // at . ! ? followed by a space (so "2.3 cm" stays whole).
  function sentenceAt(el) {
    const text = el.value;
    const endsAt = (i) => text[i] === "\n" || (/[.!?]/.test(text[i]) && (i + 1 >= text.length || /\s/.test(text[i + 1])));
    let start = el.selectionStart;
    let end = el.selectionEnd;
    if (start === end) {
      // A cursor just after a sentence's full stop belongs to that sentence.
      if (start > 0 && text[start - 1] !== "\n" && endsAt(start - 1)) start -= 1;
      end = start;
      while (start > 0 && !endsAt(start - 1)) start -= 1;
      while (end < text.length && !endsAt(end)) end += 1;
      if (end < text.length && text[end] !== "\n") end += 1;
    }
    return { start, end, sentence: text.slice(start, end).trim() };
  }

  function moveSentence() {
    const status = document.getElementById("move-status");
    const source = state.lastField;
    const select = document.getElementById("move-target");
    const target = moveTargets().find((t) => select && t.label === select.value);
    if (!source || !source.isConnected || !target) {
      status.textContent = "Put the cursor in the sentence to move, then choose where it goes.";
      return;
    }
    if (target.el === source) {
      status.textContent = "The sentence is already in that field.";
      return;
    }
    const { start, end, sentence } = sentenceAt(source);
    if (!sentence) {
      status.textContent = "There is no sentence at the cursor.";
      return;
    }
    let left = source.value.slice(0, start).replace(/[ \t]+$/, "");
    let right = source.value.slice(end).replace(/^[ \t]+/, "");
    if (left.endsWith("\n") && right.startsWith("\n")) right = right.slice(1);
    else if (left && right && !left.endsWith("\n") && !right.startsWith("\n")) left += " ";
    source.value = (left + right).trim();
    target.el.value = joined(target.el.value, sentence);
    if (source === field("impression") || target.el === field("impression")) setSuggested(false);
    changed("user");
    status.textContent = "Moved to " + target.label + ".";
    target.el.focus();
  }

  // ---- events ---------------------------------------------------------------------------------

  area.addEventListener("focusin", (e) => {
    if (e.target.matches("#report-form textarea:not([readonly])")) state.lastField = e.target;
    if (e.target.id === "move-target") fillMoveTargets();
  });

  area.addEventListener("input", (e) => {
    if (!e.target.closest("#report-form") || e.target.readOnly) return;
    if (e.target === field("impression")) setSuggested(false); // edited: the radiologist's now
    changed("user");
  });
  area.addEventListener("change", (e) => {
    if (e.target.type === "checkbox" && e.target.closest("#report-form")) changed("user");
  });
  area.addEventListener("focusout", (e) => {
    if (state.dirty && e.target.closest("#report-form")) save();
  });
  area.addEventListener("click", (e) => {
    const button = e.target.closest("[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "add-subsection") {
      const li = addSubsection("", "");
      li.querySelector("input").focus();
      changed("user");
    } else if (action === "remove-subsection") {
      const li = button.closest("[data-subsection]");
      const heading = li.querySelector('[data-field="heading"]').value;
      const text = li.querySelector('[data-field="text"]').value;
      if ((heading + text).trim() && !window.confirm("Remove “" + (heading || "this subsection") + "” and its text?")) return;
      li.remove();
      changed("user");
      fillMoveTargets();
      const add = form().querySelector('[data-action="add-subsection"]');
      if (add) add.focus();
    } else if (action === "move-sentence") {
      moveSentence();
    } else if (action === "accept-impression") {
      setSuggested(false);
      changed("user");
      setAnnouncement("Impression accepted.");
      focusSection("impression");
    } else if (action === "sign") {
      openSignDialog();
    } else if (action === "open-addendum") {
      act("/report/addendum", undefined, "Addendum opened.");
    } else if (action === "cancel-addendum") {
      if (window.confirm("Discard this addendum? Its text will be lost.")) {
        act("/report/addendum/cancel", { reportId: state.reportId }, "Addendum discarded.");
      }
    } else if (action === "load-theirs") {
      loadTheirs();
    } else if (action === "keep-mine") {
      keepMine();
    } else if (action === "dismiss-aside") {
      document.getElementById("aside").hidden = true;
    }
  });

  if (dialog) {
    document.getElementById("sign-confirm").addEventListener("click", confirmSign);
    document.getElementById("sign-cancel").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      const b = form() && form().querySelector('[data-action="sign"]');
      if (b && document.activeElement === body) b.focus();
    });
  }

  document.addEventListener("keydown", (e) => {
    const ctrl = e.ctrlKey || e.metaKey;
    if (ctrl && !e.shiftKey && !e.altKey && (e.key === "s" || e.key === "S")) {
      if (!form()) return;
      e.preventDefault();
      state.dirty = true;
      save();
    } else if (ctrl && e.shiftKey && e.key === "Enter") {
      if (!form() || (dialog && dialog.open)) return;
      e.preventDefault();
      openSignDialog();
    } else if (e.altKey && !ctrl && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      const list = fields();
      const i = list.indexOf(document.activeElement);
      if (i < 0) return;
      e.preventDefault();
      const next = list[(i + (e.key === "ArrowDown" ? 1 : list.length - 1)) % list.length];
      next.focus();
    }
  });

  window.addEventListener("beforeunload", (e) => {
    if (state.dirty || state.saving) {
      save();
      e.preventDefault();
      e.returnValue = "";
    }
  });

  // ---- the hooks --------------------------------------------------------------------------------

  const api = {
    version: 1,
    /** "dictate" (editable when a draft is open) or "view" (read-only). */
    mode,
    studyId,
    /** The id of the report or addendum being edited (null when none). */
    get reportId() {
      return state.reportId;
    },
    /** The element the dictation microphone button goes into (null when no draft is open). */
    get dictationSlot() {
      return document.getElementById("dictation-slot");
    },
    isEditable() {
      return !!form() && !state.conflict && !state.ended;
    },
    getContent,
    getSection,
    setSection,
    setContent,
    appendToSection,
    focusSection,
    /** Save at once; resolves true when everything is saved. */
    save,
    /** fn(content, {source: "user"|"api"}) after every change; returns an unsubscribe function. */
    onChange(fn) {
      state.listeners.push(fn);
      return () => {
        state.listeners = state.listeners.filter((x) => x !== fn);
      };
    },
    /** fn(content, {reportId, studyId}) → [{level: "error"|"warning"|"info", message, section?}]
     *  (or a promise of it), run each time the sign confirmation opens; "error" results block
     *  signing. Returns an unregister function. */
    registerPreSignCheck(fn) {
      state.checks.push(fn);
      return () => {
        state.checks = state.checks.filter((x) => x !== fn);
      };
    },
    /** Show results in the sign confirmation now (and in later ones, until the report is signed
     *  or this is called with null). */
    showCheckResults(results) {
      state.extraResults = Array.isArray(results) ? results : null;
      if (dialog && dialog.open) applyResults(state.extraResults || []);
    },
    /** A check result as an <li> styled like the sign dialog's: (level, message, where?). */
    checkItem,
    /** Open the sign confirmation (saves first). */
    openSignDialog,
    /** Headers for the dictation routes (/workspace/api/...): the study and the CSRF token. */
    headers() {
      return { "X-Workspace-Study": studyId, "X-CSRF-Token": csrf };
    },
  };
  window.AutoScribeReport = api;
  bind();
  if (body.dataset.start === "true") start();
})();
