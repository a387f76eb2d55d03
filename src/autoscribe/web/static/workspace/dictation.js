// AutoScribe workspace: dictation, and the pre-sign checks on the report as written.
//
// A microphone button in AutoScribeReport.dictationSlot (Alt+M toggles it). Recording uses
// MediaRecorder with a one-second timeslice; each chunk is uploaded in order
// (POST /workspace/api/dictations/{id}/chunks?seq=N, retried when the network fails: the server
// acknowledges a chunk it already has). While recording, the partial transcription is polled and
// shown in a live region. Stop → finish → poll until the draft is done → the draft goes into
// the report and its checks are listed under the button.
//
// "Upload audio…" takes a recording made elsewhere (WAV, WebM, MP3, M4A; also Ogg, FLAC, AAC)
// down the same path: a dictation is created with the file's type, the file is sent as chunks of
// at most UPLOAD_CHUNK_BYTES (the server's per-chunk limit is 4 MB, 200 MB in all), then finish →
// poll → the draft goes into the report exactly like a recorded one. "Spoken commands" lists what
// the engine understands (SPOKEN_COMMANDS; the README has the same table).
//
// A dictated impression is the radiologist's. When none was dictated the engine suggests one
// (sentences with source "generated"): put into an empty Impression field it is marked
// impressionSuggested (report.js shows "Suggested" until the radiologist edits or accepts it).
//
// How a draft goes into the report (never losing what the radiologist wrote):
//   * an empty field takes the draft's text for it (dictated sentences and the template's normal
//     defaults, e.g. "Lungs: The lungs are clear.");
//   * a field still holding exactly the template defaults an earlier dictation put there (nobody
//     edited it) is replaced when the new dictation says something about it;
//   * any other text (typed, prefilled from the order, or dictated earlier) stays: the newly
//     dictated sentences are appended after it, the template's defaults and the generated
//     impression are not added, and the status line names the fields that were appended to
//     (a numbered impression goes on numbering).
//
// The sign dialog runs the engine's checks on the text as it is when signing
// (POST /workspace/api/scribe/checks), whatever was dictated or typed; signing records the same
// checks with the report on the server.
(function () {
  "use strict";

  const report = window.AutoScribeReport;
  if (!report) return;

  const API = "/workspace/api";
  const TIMESLICE_MS = 1000;
  const POLL_MS = 1000;
  const FINISH_POLL_LIMIT = 900; // 15 minutes of polling: then the page says the job is stuck
  const UPLOAD_ATTEMPTS = 4;
  const UPLOAD_CHUNK_BYTES = 2 * 1024 * 1024; // an uploaded file goes in pieces of this size
  const MAX_UPLOAD_BYTES = 200 * 1024 * 1024; // dictation.service.MAX_DICTATION_BYTES
  // Uploaded files: extension → the type the server stores it under (browsers name some files
  // oddly: .webm is "video/webm", .m4a "audio/x-m4a", and some give no type at all).
  const UPLOAD_TYPES = {
    wav: "audio/wav",
    wave: "audio/wav",
    webm: "audio/webm",
    mp3: "audio/mpeg",
    m4a: "audio/mp4",
    mp4: "audio/mp4",
    aac: "audio/aac",
    ogg: "audio/ogg",
    oga: "audio/ogg",
    opus: "audio/ogg",
    flac: "audio/flac",
  };
  const UPLOAD_MIME = {
    "audio/wav": "audio/wav",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/webm": "audio/webm",
    "video/webm": "audio/webm",
    "audio/mpeg": "audio/mpeg",
    "audio/mp3": "audio/mpeg",
    "audio/mp4": "audio/mp4",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "video/mp4": "audio/mp4",
    "audio/aac": "audio/aac",
    "audio/ogg": "audio/ogg",
    "audio/flac": "audio/flac",
    "audio/x-flac": "audio/flac",
  };
  const UPLOAD_ACCEPT = ".wav,.webm,.mp3,.m4a,.mp4,.aac,.ogg,.oga,.opus,.flac,audio/*";
  // What the engine understands when spoken (autoscribe.scribe.normalize); the README lists the same.
  const SPOKEN_COMMANDS = [
    ["“Findings”, “Impression” (or “Conclusion”, “Opinion”, “Overall impression”, “In summary”), “Technique”, “Comparison”, “Clinical history” (or “History”, “Indication”, “Clinical details”), said on their own",
      "Start that section; the word is not written. A pause, “colon” or “period” after it is fine."],
    ["“Lungs colon”, “Liver colon”, … (an organ, then “colon”)", "File what follows under that organ"],
    ["“Next section”", "Go on to the next section of the template"],
    ["“Period” or “full stop”, “comma”, “colon”, “semicolon”, “question mark”", "Punctuation"],
    ["“Open parenthesis”, “close parenthesis”", "( and )"],
    ["“New line”, “new paragraph”", "A line break, a blank line"],
    ["“Scratch that”, “scratch out”, “delete last sentence”", "Remove the sentence just said (right after “new line” or “new paragraph”: the break)"],
    ["“Insert” and a macro name", "The macro’s text"],
    ["Under Impression: “one … two …” or “number one … number two …”", "Numbered impression items"],
  ];
  const SIMPLE = ["clinicalIndication", "technique", "comparison"];
  const TITLES = {
    clinicalIndication: "Clinical indication",
    technique: "Technique",
    comparison: "Comparison",
    findings: "Findings",
    impression: "Impression",
  };
  const LABELS = {
    idle: "Dictate",
    starting: "Starting…",
    recording: "Stop dictation",
    stopping: "Finishing…",
    uploading: "Dictate",
    transcribing: "Transcribing…",
    error: "Dictate",
  };

  const state = {
    phase: "idle",
    rec: null, // the recording in progress (one at a time)
    message: "",
    // Fields whose text is exactly the template defaults a dictation inserted: key → text.
    untouchedDefaults: {},
    templates: null,
  };

  // ---- server calls -----------------------------------------------------------------------------

  async function call(method, path, payload, raw) {
    const headers = { Accept: "application/json", ...report.headers() };
    let body;
    if (raw !== undefined) {
      body = raw;
      headers["Content-Type"] = raw.type || "application/octet-stream";
    } else if (payload !== undefined) {
      body = JSON.stringify(payload);
      headers["Content-Type"] = "application/json";
    }
    const resp = await fetch(API + path, { method, credentials: "same-origin", headers, body });
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    let message = "";
    if (!resp.ok) {
      const err = data && data.error;
      message = (err && (typeof err === "string" ? err : err.message)) || "The server refused this (HTTP " + resp.status + ").";
    }
    return { ok: resp.ok, status: resp.status, data, message };
  }

  function delay(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // ---- the button and its messages -----------------------------------------------------------------

  function el(id) {
    return document.getElementById(id);
  }

  function mount() {
    const slot = report.dictationSlot;
    if (!slot || slot.querySelector("#dictate-button")) return;
    slot.innerHTML =
      '<button type="button" id="dictate-button" class="button secondary ws-mic" aria-pressed="false"' +
      ' aria-keyshortcuts="Alt+M" aria-describedby="dictation-status">' +
      '<span class="ws-mic-dot" aria-hidden="true"></span><span class="ws-mic-label">Dictate</span></button>' +
      '<label class="ws-dictation-template">Template ' +
      '<select id="dictation-template"><option value="">Automatic (from the study)</option></select></label>' +
      '<button type="button" id="upload-button" class="button secondary" aria-controls="dictation-file">Upload audio…</button>' +
      '<input type="file" id="dictation-file" class="visually-hidden" tabindex="-1" aria-label="Audio file to transcribe" accept="' +
      UPLOAD_ACCEPT +
      '">' +
      '<span class="muted small">Keys: <kbd>Alt</kbd>+<kbd>M</kbd> start/stop</span>' +
      commandsHelp() +
      '<p id="dictation-status" class="ws-dictation-status" role="status" aria-live="polite"></p>' +
      '<p id="dictation-partial" class="ws-dictation-partial" aria-live="polite" aria-label="What the dictation heard so far" hidden></p>' +
      '<div id="dictation-checks" class="ws-checks"></div>';
    el("dictate-button").addEventListener("click", toggle);
    el("upload-button").addEventListener("click", () => el("dictation-file").click());
    el("dictation-file").addEventListener("change", (e) => {
      const file = e.target.files && e.target.files[0];
      e.target.value = ""; // the same file can be chosen again
      if (file) uploadFile(file);
    });
    loadTemplates();
    render();
  }

  /** The "Spoken commands" popover: a disclosure next to the buttons. */
  function commandsHelp() {
    const esc = (t) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    const rows = SPOKEN_COMMANDS.map(([say, does]) => "<tr><td>" + esc(say) + "</td><td>" + esc(does) + "</td></tr>").join("");
    return (
      '<details class="ws-commands" id="spoken-commands"><summary>Spoken commands</summary>' +
      '<div class="ws-commands-body"><table class="ws-commands-table"><caption class="visually-hidden">Spoken commands</caption>' +
      '<thead><tr><th scope="col">Say</th><th scope="col">To</th></tr></thead><tbody>' +
      rows +
      "</tbody></table>" +
      '<p class="muted small">A dictated impression is kept as you said it. When none is dictated, the engine suggests one from the findings, marked “Suggested” until you edit or accept it.</p>' +
      "</div></details>"
    );
  }

  async function loadTemplates() {
    if (!state.templates) {
      state.templates = call("GET", "/scribe/templates").then((r) => (r.ok ? r.data.data : []));
    }
    const list = await state.templates.catch(() => []);
    const select = el("dictation-template");
    if (!select || select.options.length > 1) return;
    for (const t of list) {
      const option = document.createElement("option");
      option.value = t.templateId;
      option.textContent = t.name + (t.builtin ? "" : " (clinic)");
      select.append(option);
    }
  }

  function render() {
    const button = el("dictate-button");
    if (!button) return;
    const busy = ["starting", "stopping", "uploading", "transcribing"].includes(state.phase);
    button.dataset.state = state.phase;
    button.setAttribute("aria-pressed", state.phase === "recording" ? "true" : "false");
    button.disabled = busy;
    button.querySelector(".ws-mic-label").textContent = LABELS[state.phase];
    const ready = state.phase === "idle" || state.phase === "error";
    const select = el("dictation-template");
    if (select) select.disabled = !ready;
    const uploadButton = el("upload-button");
    if (uploadButton) uploadButton.disabled = !ready;
    const status = el("dictation-status");
    status.textContent = state.message;
    status.dataset.state = state.phase;
  }

  function setPhase(phase, message) {
    state.phase = phase;
    if (message !== undefined) state.message = message;
    render();
  }

  function showPartial(text) {
    const p = el("dictation-partial");
    if (!p) return;
    p.textContent = text || "";
    p.hidden = !text;
  }

  /** "findings.pleura" → "Findings: Pleura", as the report's fields are labelled. */
  function where(path, draft) {
    if (!path) return "";
    const [head, organ] = path.split(".");
    const title = TITLES[head] || head;
    const section = (draft.sections || []).find((s) => s.key === head);
    const sub = organ && section && (section.subsections || []).find((s) => s.key === organ);
    return sub ? title + ": " + sub.title : title;
  }

  function showDictationChecks(checks, draft) {
    const box = el("dictation-checks");
    if (!box) return;
    box.textContent = "";
    if (!checks || !checks.length) return;
    const h = document.createElement("p");
    h.className = "small";
    h.textContent = "Checks on the dictated draft (the sign dialog checks the report as it then is):";
    const ul = document.createElement("ul");
    for (const c of checks) {
      const li = report.checkItem(c.severity, c.message, where(c.where, draft));
      li.dataset.code = c.code || "";
      ul.append(li);
    }
    box.append(h, ul);
  }

  // ---- recording ------------------------------------------------------------------------------------

  function toggle() {
    if (state.phase === "recording") stop();
    else if (state.phase === "idle" || state.phase === "error") start();
  }

  function micProblem(err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "The microphone was refused. Allow this site to use the microphone (the icon in the address bar), then press Dictate again.";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return "No microphone was found. Connect one, then press Dictate again.";
    }
    if (name === "NotReadableError" || name === "AbortError") {
      return "The microphone could not be opened; another program may be using it.";
    }
    return "The microphone could not be started: " + ((err && err.message) || err);
  }

  function recorderType() {
    for (const type of ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"]) {
      if (MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(type)) return type;
    }
    return "";
  }

  async function start() {
    if (!report.isEditable()) {
      setPhase("error", "The report cannot be edited right now (see the save status); dictation is paused.");
      return;
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof MediaRecorder === "undefined") {
      setPhase(
        "error",
        window.isSecureContext
          ? "This browser cannot record audio; type the report, or use a current browser."
          : "Dictation needs a secure (https) address; type the report, or open it over https."
      );
      return;
    }
    setPhase("starting", "Starting the microphone…");
    showPartial("");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      setPhase("error", micProblem(e));
      return;
    }
    const type = recorderType();
    let recorder;
    try {
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    } catch (e) {
      stream.getTracks().forEach((t) => t.stop());
      setPhase("error", "This browser cannot record audio here: " + e.message);
      return;
    }
    const templateId = (el("dictation-template") && el("dictation-template").value) || null;
    const created = await call("POST", "/dictations", { templateId, contentType: recorder.mimeType || type || "audio/webm" })
      .catch(() => ({ ok: false, message: "The server cannot be reached." }));
    if (!created.ok) {
      stream.getTracks().forEach((t) => t.stop());
      setPhase("error", "Dictation could not start: " + created.message);
      return;
    }
    const rec = {
      id: created.data.dictationId,
      templateId,
      stream,
      recorder,
      seq: 0,
      uploads: Promise.resolve(),
      failed: null,
    };
    state.rec = rec;
    recorder.addEventListener("dataavailable", (e) => {
      if (!e.data || !e.data.size || rec.failed) return;
      const seq = rec.seq++;
      // Chained: chunk N+1 is sent only after chunk N was stored (the server wants them in order).
      rec.uploads = rec.uploads.then(() => upload(rec, seq, e.data));
    });
    recorder.start(TIMESLICE_MS);
    setPhase("recording", "Recording… press Stop dictation (or Alt+M) when done.");
    pollPartial(rec);
  }

  async function upload(rec, seq, blob) {
    if (rec.failed) return;
    for (let attempt = 1; attempt <= UPLOAD_ATTEMPTS; attempt++) {
      let resp;
      try {
        resp = await call("POST", "/dictations/" + encodeURIComponent(rec.id) + "/chunks?seq=" + seq, undefined, blob);
      } catch (e) {
        resp = { ok: false, status: 0, message: "The server cannot be reached." };
      }
      if (resp.ok) return;
      const retry = resp.status === 0 || resp.status >= 500;
      if (!retry || attempt === UPLOAD_ATTEMPTS) {
        rec.failed = resp.message;
        if (state.rec === rec && state.phase === "recording") abort(rec, "The recording could not be uploaded: " + resp.message);
        return;
      }
      await delay(500 * attempt);
    }
  }

  async function pollPartial(rec) {
    while (state.rec === rec && state.phase === "recording") {
      await delay(POLL_MS);
      if (state.rec !== rec || state.phase !== "recording") return;
      const resp = await call("GET", "/dictations/" + encodeURIComponent(rec.id)).catch(() => null);
      if (resp && resp.ok && state.phase === "recording" && resp.data.partialText) {
        const behind = resp.data.partialChunks < resp.data.chunkCount ? " …" : "";
        showPartial(resp.data.partialText + behind);
      }
    }
  }

  function release(rec) {
    if (rec.stream) rec.stream.getTracks().forEach((t) => t.stop());
  }

  function abort(rec, message) {
    if (rec.recorder && rec.recorder.state !== "inactive") rec.recorder.stop();
    release(rec);
    if (state.rec === rec) state.rec = null;
    setPhase("error", message);
  }

  async function stop() {
    const rec = state.rec;
    if (!rec) return;
    setPhase("stopping", "Finishing the recording…");
    // The last chunk arrives (dataavailable) before "stop": its upload is chained by then.
    const stopped = new Promise((resolve) => rec.recorder.addEventListener("stop", resolve, { once: true }));
    if (rec.recorder.state !== "inactive") rec.recorder.stop();
    await stopped;
    release(rec);
    await rec.uploads;
    if (state.rec !== rec) return;
    if (rec.failed) return abort(rec, "The recording could not be uploaded: " + rec.failed);
    if (rec.seq === 0) return abort(rec, "No audio was recorded. Check the microphone, then try again.");
    await transcribe(rec, "Dictation added to the report.");
  }

  // ---- uploading a recording ----------------------------------------------------------------------

  /** The type to store an uploaded file under, or null when it is not a recording the engine reads. */
  function uploadType(file) {
    const ext = ((file.name || "").match(/\.([A-Za-z0-9]+)$/) || [])[1];
    const byName = ext && UPLOAD_TYPES[ext.toLowerCase()];
    const mime = (file.type || "").split(";")[0].trim().toLowerCase();
    if (/^(text|image)\//.test(mime) || mime === "application/pdf") return null; // whatever its name says
    return byName || UPLOAD_MIME[mime] || null;
  }

  function megabytes(n) {
    return (n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0) + " MB";
  }

  /** An audio file into the report: the same dictation calls and engine as the microphone. */
  async function uploadFile(file) {
    if (state.phase !== "idle" && state.phase !== "error") return;
    const name = "“" + file.name + "”";
    if (!report.isEditable()) {
      setPhase("error", "The report cannot be edited right now (see the save status); the file was not uploaded.");
      return;
    }
    const type = uploadType(file);
    if (!type) {
      setPhase("error", name + " is not an audio file the dictation engine reads. Upload a WAV, WebM, MP3 or M4A recording.");
      return;
    }
    if (!file.size) {
      setPhase("error", name + " is empty.");
      return;
    }
    if (file.size > MAX_UPLOAD_BYTES) {
      setPhase("error", name + " is too large (" + megabytes(file.size) + "): recordings up to " + megabytes(MAX_UPLOAD_BYTES) + " can be uploaded.");
      return;
    }
    showPartial("");
    setPhase("uploading", "Uploading " + name + "…");
    const templateId = (el("dictation-template") && el("dictation-template").value) || null;
    const created = await call("POST", "/dictations", { templateId, contentType: type }).catch(() => ({
      ok: false,
      message: "The server cannot be reached.",
    }));
    if (!created.ok) {
      setPhase("error", name + " could not be uploaded: " + created.message);
      return;
    }
    const rec = { id: created.data.dictationId, templateId, stream: null, recorder: null, seq: 0, failed: null, file: file.name };
    state.rec = rec;
    for (let offset = 0; offset < file.size; offset += UPLOAD_CHUNK_BYTES) {
      const seq = rec.seq++;
      await upload(rec, seq, file.slice(offset, offset + UPLOAD_CHUNK_BYTES, type));
      if (state.rec !== rec) return; // the report was signed meanwhile
      if (rec.failed) return abort(rec, name + " could not be uploaded: " + rec.failed);
      if (file.size > UPLOAD_CHUNK_BYTES) {
        const done = Math.min(file.size, offset + UPLOAD_CHUNK_BYTES);
        setPhase("uploading", "Uploading " + name + "… " + Math.floor((100 * done) / file.size) + "%");
      }
    }
    await transcribe(rec, name + " was transcribed and added to the report.");
  }

  // ---- transcription of a recording or an upload -----------------------------------------------------

  async function transcribe(rec, done) {
    setPhase("transcribing", "Transcribing…");
    const path = "/dictations/" + encodeURIComponent(rec.id);
    const finished = await call("POST", path + "/finish", { templateId: rec.templateId }).catch(() => null);
    if (!finished || !finished.ok) {
      return abort(rec, "The dictation could not be finished: " + (finished ? finished.message : "the server cannot be reached."));
    }
    let body = finished.data;
    for (let i = 0; body.status !== "done" && body.status !== "failed"; i++) {
      if (i >= FINISH_POLL_LIMIT) return abort(rec, "Transcription is taking too long; try again later.");
      await delay(POLL_MS);
      if (state.rec !== rec) return;
      const resp = await call("GET", path).catch(() => null);
      if (resp && resp.ok) body = resp.data;
    }
    state.rec = null;
    if (body.status === "failed") {
      setPhase("error", "Transcription failed: " + (body.error || "unknown error") + ". Dictate again, or type.");
      return;
    }
    showPartial("");
    if (!report.isEditable()) {
      setPhase("error", "The report can no longer be edited here; the dictation was not inserted.");
      return;
    }
    const before = report.getContent();
    const appended = applyDraft(body.result.draft);
    const after = report.getContent();
    showDictationChecks(body.result.checks, body.result.draft);
    const suggested = after.impressionSuggested && after.impression !== before.impression;
    setPhase(
      "idle",
      done +
        (appended.length ? " Added after your text in: " + appended.join(", ") + "." : "") +
        (suggested ? " No impression was dictated: the one in Impression is a suggestion (marked “Suggested”)." : "")
    );
  }

  // ---- the draft into the report ----------------------------------------------------------------------

  const DICTATED = ["dictated", "macro"];

  function texts(sentences, numbered) {
    const all = sentences.map((s) => s.text);
    const mine = sentences.filter((s) => DICTATED.includes(s.source)).map((s) => s.text);
    const join = (list) =>
      numbered && list.length > 1 ? list.map((t, i) => i + 1 + ". " + t).join("\n") : list.join(" ");
    return { all: join(all), mine: join(mine), items: numbered ? mine : null };
  }

  /** Newly dictated text after the radiologist's: a numbered impression goes on numbering,
   *  anything else follows as sentences. */
  function after(cur, incoming) {
    const kept = cur.replace(/\s+$/, "");
    const numbers = kept.match(/^\s*\d+[.)]/gm);
    if (incoming.items && numbers) {
      return kept + "\n" + incoming.items.map((t, i) => numbers.length + i + 1 + ". " + t).join("\n");
    }
    const text = incoming.items ? incoming.items.join(" ") : incoming.mine;
    return kept + (/[.!?:]$/.test(kept) ? " " : "\n") + text;
  }

  /** Merge one field by the rules at the top of this file; `appended` collects labels. */
  function merge(key, label, current, incoming, appended) {
    const cur = current || "";
    let value = cur;
    if (!cur.trim()) value = incoming.all;
    else if (state.untouchedDefaults[key] === cur && incoming.mine) value = incoming.all;
    else if (incoming.mine) {
      value = after(cur, incoming);
      appended.push(label);
    }
    if (value !== cur && value && !incoming.mine) state.untouchedDefaults[key] = value;
    else if (value !== cur) delete state.untouchedDefaults[key];
    return value;
  }

  function applyDraft(draft) {
    const content = report.getContent();
    const appended = [];
    const next = {};
    const sections = {};
    for (const s of draft.sections) sections[s.key] = s;
    for (const key of SIMPLE) {
      if (sections[key]) next[key] = merge(key, TITLES[key], content[key], texts(sections[key].sentences), appended);
    }
    const findings = sections.findings;
    if (findings) {
      const text = merge("findings", TITLES.findings, content.findings.text, texts(findings.sentences), appended);
      const subs = content.findings.subsections.map((s) => ({ heading: s.heading, text: s.text }));
      for (const organ of findings.subsections || []) {
        const incoming = texts(organ.sentences);
        if (!incoming.all) continue;
        const key = "sub:" + organ.title.trim().toLowerCase();
        let sub = subs.find((s) => s.heading.trim().toLowerCase() === organ.title.trim().toLowerCase());
        if (!sub) {
          sub = { heading: organ.title, text: "" };
          subs.push(sub);
        }
        sub.text = merge(key, TITLES.findings + ": " + organ.title, sub.text, incoming, appended);
      }
      next.findings = { text, subsections: subs };
    }
    if (sections.impression) {
      const incoming = texts(sections.impression.sentences, true);
      next.impression = merge("impression", TITLES.impression, content.impression, incoming, appended);
      // What the engine wrote because nothing was dictated is a suggestion; dictated text is not.
      if (next.impression !== content.impression) next.impressionSuggested = !incoming.mine;
    }
    report.setContent(next);
    return appended;
  }

  // ---- pre-sign checks on the report as written -----------------------------------------------------------

  report.registerPreSignCheck(async (content, ctx) => {
    const resp = await call("POST", "/scribe/checks", { reportId: ctx.reportId, content });
    if (!resp.ok) throw new Error(resp.message);
    return resp.data.data;
  });

  // ---- wiring ---------------------------------------------------------------------------------------

  document.addEventListener("keydown", (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || e.code !== "KeyM") return;
    const dialog = el("sign-dialog");
    if ((dialog && dialog.open) || !el("dictate-button")) return;
    e.preventDefault();
    toggle();
  });

  // The editor is re-rendered after signing or opening an addendum: mount again; a recording for
  // a report that is gone is dropped.
  document.addEventListener("autoscribe:report-ready", () => {
    state.untouchedDefaults = {};
    mount();
  });
  document.addEventListener("autoscribe:report-signed", () => {
    if (state.rec) abort(state.rec, "The report was signed; the recording was discarded.");
    state.untouchedDefaults = {};
  });

  mount();

  /** For other scripts (and tests): the phase, start/stop, and the merge of a draft (Draft.to_dict()). */
  window.AutoScribeDictation = {
    get phase() {
      return state.phase;
    },
    toggle,
    applyDraft,
  };
})();
