// The viewer: progressive loading with a priority queue, series/slice layout, canvas drawing,
// window/level, zoom/pan, keyboard and pointer interaction, errors with Retry.
import { compareKeys, decodeDicom, sliceSortKey } from "./dicom.js";
import { parseManifest, sopUidsInUrls } from "./manifest.js";
import { autoWindow, defaultWindow, renderImage } from "./render.js";

export const PRESETS = [
  { id: "default", label: "Default (from image)" },
  { id: "auto", label: "Full range" },
  { id: "ct-brain", label: "CT Brain", center: 40, width: 80 },
  { id: "ct-subdural", label: "CT Subdural", center: 75, width: 215 },
  { id: "ct-lung", label: "CT Lung", center: -600, width: 1500 },
  { id: "ct-mediastinum", label: "CT Mediastinum", center: 50, width: 350 },
  { id: "ct-abdomen", label: "CT Abdomen", center: 40, width: 400 },
  { id: "ct-liver", label: "CT Liver", center: 60, width: 160 },
  { id: "ct-bone", label: "CT Bone", center: 400, width: 1800 },
];

const DEFAULTS = {
  concurrency: 6,
  timeoutMs: 30000,
  sourceTimeoutMs: 20000,
  autofocus: false,
};

class LoadError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

function httpMessage(status, what) {
  if (status === 401 || status === 403) {
    return `The image archive refused access to ${what} (HTTP ${status}). The link may have expired.`;
  }
  if (status === 404) return `The image archive has no such ${what} (HTTP 404).`;
  if (status >= 500) return `The image archive failed while sending ${what} (HTTP ${status}).`;
  return `The image archive answered HTTP ${status} for ${what}.`;
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "className") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) node.append(c);
  return node;
}

let idCounter = 0;

function fmt(n) {
  return Math.abs(n - Math.round(n)) < 0.05 ? String(Math.round(n)) : n.toFixed(1);
}

function stripQuery(url) {
  const i = url.search(/[?#]/);
  return i < 0 ? url : url.slice(0, i);
}

/** Pixels as base64, gzipped when the browser can (CompressionStream): {pixelData, compression?}. */
async function packPixels(pixels) {
  let blob = new Blob([pixels]);
  let compression;
  if (typeof CompressionStream !== "undefined") {
    blob = await new Response(blob.stream().pipeThrough(new CompressionStream("gzip"))).blob();
    compression = "gzip";
  }
  const url = await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
  const pixelData = String(url).slice(String(url).indexOf(",") + 1);
  return compression ? { pixelData, compression } : { pixelData };
}

export class Viewer {
  constructor(element, options = {}) {
    if (!element) throw new Error("AutoScribeViewer.mount needs an element");
    this.options = { ...DEFAULTS, ...options };
    this.host = element;
    this.uid = ++idCounter;
    this.generation = 0;
    this.controllers = new Set();
    this.series = [];
    this.jobs = [];
    this.active = 0;
    this.current = null;
    this.currentSeries = null;
    this.userNavigated = false;
    this.fatal = null;
    this.status = "idle";
    this.view = { zoom: 1, panX: 0, panY: 0, invert: false };
    this.tool = "window";
    this.firstImageMs = null;
    this.allLoadedMs = null;
    this.imageRect = null;
    this.lastResponse = null;
    this.drawPending = false;
    this.rendered = { slot: null, center: NaN, width: NaN, invert: null };
    this.buildDom();
    this.bindEvents();
    element.autoscribeViewer = this;
    if (this.options.autofocus) this.viewport.focus();
    if (this.options.source) this.loadFrom(this.options.source);
    else if (this.options.urls || this.options.manifest || this.options.authorized !== undefined) {
      this.load(this.options);
    } else this.renderChrome();
  }

  // ---- DOM ----------------------------------------------------------------------------------

  buildDom() {
    const id = `asv${this.uid}`;
    this.root = el("div", { className: "asv", "data-status": "idle" });
    const toolbar = el("div", { className: "asv-toolbar", role: "toolbar", "aria-label": "Image tools" });
    this.toolButtons = {};
    const tools = [
      ["window", "W/L", "Drag to change window/level"],
      ["pan", "Pan", "Drag to move the image"],
      ["zoom", "Zoom", "Drag up or down to zoom"],
    ];
    for (const [tool, label, title] of tools) {
      const b = el("button", { type: "button", className: "asv-btn", "aria-pressed": tool === this.tool, title, text: label });
      b.dataset.tool = tool;
      this.toolButtons[tool] = b;
      toolbar.append(b);
    }
    this.presetSelect = el("select", { id: `${id}-preset`, className: "asv-select" });
    for (const p of PRESETS) {
      const label = p.center === undefined ? p.label : `${p.label} (W ${p.width} / L ${p.center})`;
      this.presetSelect.append(el("option", { value: p.id, text: label }));
    }
    toolbar.append(
      el("label", { for: `${id}-preset`, className: "asv-label", text: "Window preset" }),
      this.presetSelect,
    );
    this.zoomOutBtn = el("button", { type: "button", className: "asv-btn", "aria-label": "Zoom out", title: "Zoom out (-)", text: "−" });
    this.zoomInBtn = el("button", { type: "button", className: "asv-btn", "aria-label": "Zoom in", title: "Zoom in (+)", text: "+" });
    this.invertBtn = el("button", { type: "button", className: "asv-btn", "aria-pressed": "false", title: "Invert grey scale (I)", text: "Invert" });
    this.resetBtn = el("button", { type: "button", className: "asv-btn", title: "Reset window, zoom and pan (R)", text: "Reset" });
    toolbar.append(this.zoomOutBtn, this.zoomInBtn, this.invertBtn, this.resetBtn);
    // "Save key image": only where the page gives a place to save to (the reading radiologist's workspace).
    this.keyImageBtn = null;
    this.keyImageStatus = null;
    if (this.options.keyImageUrl) {
      this.keyImageBtn = el("button", {
        type: "button",
        className: "asv-btn asv-key-image",
        title: "Save the image as displayed as a key image in the study (K)",
        text: "Save key image",
      });
      this.keyImageStatus = el("span", { className: "asv-key-image-status", role: "status", "aria-live": "polite" });
      toolbar.append(this.keyImageBtn, this.keyImageStatus);
    }

    this.seriesList = el("ul", { className: "asv-series-list" });
    this.mediaList = el("ul", { className: "asv-media-list" });
    this.mediaBox = el("div", { className: "asv-media", hidden: true }, [
      el("h3", { className: "asv-heading", text: "Attachments" }),
      this.mediaList,
    ]);
    const seriesNav = el("nav", { className: "asv-series", "aria-label": "Series" }, [
      el("h3", { className: "asv-heading", text: "Series" }),
      this.seriesList,
      this.mediaBox,
    ]);

    this.canvas = el("canvas", { className: "asv-canvas", "aria-hidden": "true" });
    this.help = el("p", {
      id: `${id}-help`,
      className: "asv-sr-only",
      text:
        "Arrow keys or mouse wheel: previous/next slice. Page Up/Down: jump. Home/End: first/last slice. " +
        "Drag: window/level (or the selected tool). Plus/minus: zoom. I: invert. R: reset. " +
        "Number keys 1 to 9: window presets. [ and ]: previous/next series." +
        (this.options.keyImageUrl ? " K: save the image as displayed as a key image." : ""),
    });
    this.overlay = {
      tl: el("div", { className: "asv-ov asv-ov-tl" }),
      tr: el("div", { className: "asv-ov asv-ov-tr" }),
      bl: el("div", { className: "asv-ov asv-ov-bl" }),
      br: el("div", { className: "asv-ov asv-ov-br" }),
    };
    this.messageText = el("p", { className: "asv-message-text" });
    this.retryBtn = el("button", { type: "button", className: "asv-btn asv-retry", text: "Retry" });
    this.message = el("div", { className: "asv-message", hidden: true }, [this.messageText, this.retryBtn]);
    this.viewport = el(
      "div",
      {
        className: "asv-viewport",
        tabindex: "0",
        role: "group",
        "aria-roledescription": "image viewer",
        "aria-label": "Image viewer",
        "aria-describedby": `${id}-help`,
      },
      [this.canvas, ...Object.values(this.overlay), this.message, this.help],
    );

    this.slider = el("input", {
      id: `${id}-slice`,
      type: "range",
      min: "1",
      max: "1",
      value: "1",
      className: "asv-slider",
      disabled: true,
    });
    this.sliceLabel = el("span", { className: "asv-slice-label", "aria-hidden": "true" });
    const sliderRow = el("div", { className: "asv-slider-row" }, [
      el("label", { for: `${id}-slice`, className: "asv-label", text: "Slice" }),
      this.slider,
      this.sliceLabel,
    ]);
    this.statusText = el("span", { className: "asv-status-text" });
    this.failRetryBtn = el("button", { type: "button", className: "asv-btn", hidden: true, text: "Retry failed images" });
    this.statusBar = el("div", { className: "asv-statusbar", role: "status", "aria-live": "polite" }, [
      this.statusText,
      this.failRetryBtn,
    ]);
    const main = el("div", { className: "asv-main" }, [this.viewport, sliderRow]);
    this.root.append(toolbar, el("div", { className: "asv-body" }, [seriesNav, main]), this.statusBar);
    this.host.append(this.root);
    this.ctx = this.canvas.getContext("2d");
    this.offscreen = document.createElement("canvas");
    this.offctx = this.offscreen.getContext("2d");
    this.imageData = null;
  }

  bindEvents() {
    this.listeners = [];
    const on = (target, type, fn, opts) => {
      target.addEventListener(type, fn, opts);
      this.listeners.push([target, type, fn, opts]);
    };
    for (const b of Object.values(this.toolButtons)) on(b, "click", () => this.setTool(b.dataset.tool));
    on(this.presetSelect, "change", () => this.applyPreset(this.presetSelect.value));
    on(this.zoomInBtn, "click", () => this.zoomBy(1.25));
    on(this.zoomOutBtn, "click", () => this.zoomBy(0.8));
    on(this.invertBtn, "click", () => this.toggleInvert());
    on(this.resetBtn, "click", () => this.reset());
    if (this.keyImageBtn) on(this.keyImageBtn, "click", () => this.saveKeyImage());
    on(this.retryBtn, "click", () => this.retry());
    on(this.failRetryBtn, "click", () => this.retry());
    on(this.slider, "input", () => {
      this.userNavigated = true;
      this.setIndex(Number(this.slider.value) - 1);
    });
    on(this.root, "keydown", (e) => this.onKey(e));
    on(this.viewport, "wheel", (e) => this.onWheel(e), { passive: false });
    on(this.viewport, "pointerdown", (e) => this.onPointerDown(e));
    on(this.viewport, "pointermove", (e) => this.onPointerMove(e));
    on(this.viewport, "pointerup", (e) => this.onPointerUp(e));
    on(this.viewport, "pointercancel", (e) => this.onPointerUp(e));
    on(this.viewport, "contextmenu", (e) => e.preventDefault());
    on(this.viewport, "dblclick", () => this.reset());
    if (typeof ResizeObserver !== "undefined") {
      this.resizeObserver = new ResizeObserver(() => this.scheduleDraw());
      this.resizeObserver.observe(this.viewport);
    }
  }

  destroy() {
    this.generation++;
    for (const c of this.controllers) c.abort();
    this.controllers.clear();
    for (const [t, type, fn, opts] of this.listeners) t.removeEventListener(type, fn, opts);
    if (this.resizeObserver) this.resizeObserver.disconnect();
    this.root.remove();
    delete this.host.autoscribeViewer;
  }

  emit(name, detail) {
    this.root.dispatchEvent(new CustomEvent(`autoscribe:${name}`, { detail, bubbles: true }));
  }

  // ---- loading ------------------------------------------------------------------------------

  /** Fetch the same-origin endpoint that answers {authorized, urls, manifest, mediaUrls, error}. */
  async loadFrom(source) {
    this.options.source = source;
    const gen = this.startGeneration();
    this.setStatus("loading", "Requesting images from the archive…");
    this.renderChrome();
    let body;
    try {
      if (typeof source === "function") body = await source();
      else {
        const ctrl = new AbortController();
        this.controllers.add(ctrl);
        const timer = setTimeout(() => ctrl.abort(), this.options.sourceTimeoutMs);
        try {
          const resp = await fetch(source, {
            credentials: "same-origin",
            headers: { Accept: "application/json" },
            signal: ctrl.signal,
          });
          let json = null;
          try {
            json = await resp.json();
          } catch {
            json = null;
          }
          if (!resp.ok) {
            const e = json && json.error;
            const text = typeof e === "string" ? e : e && e.message;
            throw new LoadError(text || `The server could not get images for this study (HTTP ${resp.status}).`, "source", resp.status);
          }
          if (!json || typeof json !== "object") throw new LoadError("The server sent an unreadable answer.", "source");
          body = json;
        } finally {
          clearTimeout(timer);
          this.controllers.delete(ctrl);
        }
      }
    } catch (e) {
      if (gen !== this.generation) return;
      const message =
        e && e.name === "AbortError"
          ? `The image list did not arrive within ${Math.round(this.options.sourceTimeoutMs / 1000)} s.`
          : e instanceof LoadError
            ? e.message
            : "Could not reach the server to request images (network error).";
      this.fail(message, "source");
      return;
    }
    if (gen !== this.generation) return;
    this.root.dataset.urlsMs = String(Math.round(performance.now()));
    this.load(body, { keepGeneration: true });
  }

  /** Load the JSON the study.access_requested webhook returned (or the same fields given directly). */
  load(response, { keepGeneration = false } = {}) {
    if (!keepGeneration) this.startGeneration();
    this.lastResponse = response || {};
    const r = this.lastResponse;
    this.resetLayout();
    this.renderMedia(Array.isArray(r.mediaUrls) ? r.mediaUrls : []);
    if (r.authorized === false) {
      const text = typeof r.error === "string" && r.error.trim() ? r.error.trim() : "";
      this.fail(
        text ? `The image archive did not authorize access: ${text}` : "The image archive did not authorize access to this study.",
        "unauthorized",
      );
      return;
    }
    const urls = Array.isArray(r.urls) ? r.urls.filter((u) => typeof u === "string" && u) : [];
    const layout = parseManifest(r.manifest || r.manifests);
    if (!urls.length) {
      this.fail("The image archive returned no images for this study.", "empty");
      return;
    }
    this.jobs = urls.map((url, index) => ({ url, index, status: "pending", slots: [], error: null }));
    this.layoutFromManifest(layout);
    this.setStatus("loading");
    this.renderChrome();
    this.pump();
  }

  startGeneration() {
    this.generation++;
    for (const c of this.controllers) c.abort();
    this.controllers.clear();
    this.active = 0;
    return this.generation;
  }

  resetLayout() {
    this.series = [];
    this.jobs = [];
    this.slotsBySop = new Map();
    this.current = null;
    this.currentSeries = null;
    this.userNavigated = false;
    this.fatal = null;
    this.firstImageMs = null;
    this.allLoadedMs = null;
    this.rendered = { slot: null, center: NaN, width: NaN, invert: null };
    this.painted = null;
    this.seriesList.textContent = "";
    delete this.root.dataset.firstImageMs;
    delete this.root.dataset.firstFileMs;
    delete this.root.dataset.allLoadedMs;
  }

  layoutFromManifest(layout) {
    if (!layout.length) return;
    const known = new Set();
    for (const s of layout) {
      const series = this.addSeries({ uid: s.uid, description: s.description, modality: s.modality, number: s.number });
      for (const sop of s.sops) {
        known.add(sop.sopInstanceUID);
        for (let f = 0; f < sop.frames; f++) {
          const slot = {
            series,
            sopInstanceUID: sop.sopInstanceUID,
            frame: f,
            key: sliceSortKey({ instanceNumber: sop.instanceNumber, sopInstanceUID: sop.sopInstanceUID, frame: f }),
            status: "pending",
            image: null,
            error: null,
            job: null,
          };
          series.slots.push(slot);
          this.slotsBySop.set(`${sop.sopInstanceUID}#${f}`, slot);
        }
      }
      series.slots.sort((a, b) => compareKeys(a.key, b.key));
    }
    // Tie URLs to slots so the queue can fetch the slices near the one on screen first.
    const uids = sopUidsInUrls(
      this.jobs.map((j) => j.url),
      known,
    );
    let matched = 0;
    this.jobs.forEach((job, i) => {
      if (uids[i]) matched++;
    });
    const allSops = layout.flatMap((s) => s.sops.map((sop) => sop.sopInstanceUID));
    this.jobs.forEach((job, i) => {
      let uid = uids[i];
      // No UID in the URLs but one URL per SOP: the integrator listed them in manifest order.
      if (!matched && this.jobs.length === allSops.length) uid = allSops[i];
      if (!uid) return;
      for (let f = 0; ; f++) {
        const slot = this.slotsBySop.get(`${uid}#${f}`);
        if (!slot) break;
        if (!slot.job) {
          slot.job = job;
          job.slots.push(slot);
        }
      }
    });
    this.currentSeries = this.series[0];
    this.current = this.currentSeries.slots[0];
  }

  addSeries({ uid, description, modality, number }) {
    const series = {
      uid,
      description: description || "",
      modality: modality || "",
      number,
      slots: [],
      window: null,
      preset: "default",
      lastSlot: null,
      thumbDrawn: false,
      item: null,
    };
    this.series.push(series);
    return series;
  }

  /** Pick the next URL to fetch: slices nearest the one on screen first, then one per series for thumbnails. */
  nextJob() {
    let best = null;
    let bestScore = Infinity;
    const cur = this.current;
    const curSeries = this.currentSeries;
    const curIndex = cur && curSeries ? curSeries.slots.indexOf(cur) : 0;
    const curUrlIndex = cur && cur.job ? cur.job.index : 0;
    const positions = new Map();
    for (const series of this.series) series.slots.forEach((slot, i) => positions.set(slot, i));
    for (const job of this.jobs) {
      if (job.status !== "pending") continue;
      let score;
      if (job.slots.length) {
        score = Infinity;
        for (const slot of job.slots) {
          const idx = positions.get(slot);
          let s;
          if (slot.series === curSeries) s = Math.abs(idx - curIndex) + (idx < curIndex ? 0.5 : 0);
          else if (idx === 0) s = 8;
          else s = 100000 + idx;
          if (s < score) score = s;
        }
      } else {
        score = 50000 + Math.abs(job.index - curUrlIndex);
        if (!this.slotsBySop.size) score -= 50000;
      }
      if (score < bestScore) {
        bestScore = score;
        best = job;
      }
    }
    return best;
  }

  pump() {
    const gen = this.generation;
    while (this.active < this.options.concurrency) {
      const job = this.nextJob();
      if (!job) break;
      this.runJob(job, gen);
    }
    if (this.active === 0 && !this.jobs.some((j) => ["pending", "loading", "waiting"].includes(j.status))) {
      this.finish();
    }
  }

  async runJob(job, gen) {
    job.status = "loading";
    for (const slot of job.slots) if (slot.status !== "loaded") slot.status = "loading";
    this.active++;
    const ctrl = new AbortController();
    this.controllers.add(ctrl);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, this.options.timeoutMs);
    let buffer = null;
    let error = null;
    try {
      const resp = await fetch(job.url, {
        // Cookies go to our own archive (/workspace/<study>/archive/...), never to an integrator's
        // URLs on other origins.
        credentials: "same-origin",
        mode: "cors",
        cache: job.bypassCache ? "reload" : "default",
        signal: ctrl.signal,
      });
      if (!resp.ok) throw new LoadError(httpMessage(resp.status, "this image"), "http", resp.status);
      buffer = await resp.arrayBuffer();
    } catch (e) {
      if (e instanceof LoadError) error = e;
      else if (timedOut) {
        error = new LoadError(
          `The image archive did not send this image within ${Math.round(this.options.timeoutMs / 1000)} s.`,
          "timeout",
        );
      } else if (e && e.name === "AbortError") error = new LoadError("Cancelled", "aborted");
      else error = new LoadError("Could not reach the image archive (network error, or it refused this page).", "network");
    } finally {
      clearTimeout(timer);
      this.controllers.delete(ctrl);
    }
    if (gen !== this.generation) return;
    this.active--;
    if (buffer && !this.root.dataset.firstFileMs) this.root.dataset.firstFileMs = String(Math.round(performance.now()));
    if (buffer) this.onFileLoaded(job, buffer);
    else this.onJobFailed(job, error);
    this.pump();
  }

  onJobFailed(job, error) {
    job.status = "failed";
    job.error = error;
    for (const slot of job.slots) {
      if (slot.status === "loaded") continue;
      slot.status = "failed";
      slot.error = error.message;
    }
    if (job.slots.includes(this.current)) this.scheduleDraw();
    this.scheduleChrome();
  }

  onFileLoaded(job, buffer) {
    let decoded;
    try {
      decoded = decodeDicom(buffer);
    } catch (e) {
      if (e && e.code === "nonimage") {
        job.status = "done";
        job.nonImage = true;
        for (const slot of job.slots) {
          if (slot.status !== "loaded") {
            slot.status = "failed";
            slot.error = "This object has no image.";
          }
        }
        this.scheduleChrome();
        return;
      }
      this.onJobFailed(job, new LoadError(e && e.message ? e.message : String(e), e && e.code ? e.code : "broken"));
      return;
    }
    job.status = "done";
    const touched = new Set();
    for (const frame of decoded.frames) {
      let slot = this.slotsBySop.get(`${frame.sopInstanceUID}#${frame.frame}`);
      if (!slot) {
        let series = this.series.find((s) => s.uid === frame.seriesInstanceUID);
        if (!series) {
          series = this.addSeries({
            uid: frame.seriesInstanceUID || `unknown-${job.index}`,
            description: frame.seriesDescription,
            modality: frame.modality,
            number: frame.seriesNumber,
          });
          this.sortSeriesList();
        }
        slot = { series, sopInstanceUID: frame.sopInstanceUID, frame: frame.frame, status: "pending", image: null, error: null, job };
        series.slots.push(slot);
        if (frame.sopInstanceUID) this.slotsBySop.set(`${frame.sopInstanceUID}#${frame.frame}`, slot);
      }
      const series = slot.series;
      if (!series.description && frame.seriesDescription) series.description = frame.seriesDescription;
      if (!series.modality && frame.modality) series.modality = frame.modality;
      if (series.number === undefined && frame.seriesNumber !== undefined) series.number = frame.seriesNumber;
      slot.image = frame;
      slot.status = "loaded";
      slot.error = null;
      slot.key = sliceSortKey(frame);
      if (!slot.job) slot.job = job;
      if (!job.slots.includes(slot)) job.slots.push(slot);
      touched.add(series);
    }
    // Slots the URL was expected to fill but the file did not contain.
    for (const slot of job.slots) {
      if (slot.status !== "loaded") {
        slot.status = "failed";
        slot.error = "The file at this slot's URL holds a different image.";
      }
    }
    for (const series of touched) series.slots.sort((a, b) => compareKeys(a.key, b.key));
    if (!this.current) {
      const slot = job.slots.find((s) => s.image);
      this.currentSeries = slot.series;
      this.current = slot;
    } else if (!this.userNavigated && this.currentSeries && this.currentSeries.slots[0].image) {
      // Until the reader navigates, keep the first slice of the series on screen.
      this.current = this.currentSeries.slots[0];
    }
    if (this.firstImageMs === null && this.current && this.current.image) {
      this.draw(); // the first image is drawn at once, not on the next animation frame
    } else if (job.slots.includes(this.current) || touched.has(this.currentSeries)) {
      this.scheduleDraw();
    }
    this.scheduleChrome();
  }

  sortSeriesList() {
    this.series.sort((a, b) => {
      const na = a.number ?? Number.MAX_SAFE_INTEGER;
      const nb = b.number ?? Number.MAX_SAFE_INTEGER;
      return na - nb || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0);
    });
  }

  finish() {
    if (this.status === "error" || this.allLoadedMs !== null) return;
    for (const series of this.series) {
      for (const slot of series.slots) {
        if (slot.status === "pending") {
          slot.status = "failed";
          slot.error = "The archive sent no URL for this image.";
        }
      }
    }
    const loaded = this.countLoaded();
    if (!loaded) {
      const failed = this.jobs.find((j) => j.status === "failed");
      const reason = failed ? failed.error.message : "The files held no displayable images.";
      const n = this.jobs.length;
      this.fail(n === 1 ? `The image could not be loaded. ${reason}` : `None of the ${n} images could be loaded. ${reason}`, "files");
      return;
    }
    this.allLoadedMs = Math.round(performance.now());
    this.root.dataset.allLoadedMs = String(this.allLoadedMs);
    this.setStatus("ready");
    this.scheduleDraw();
    this.renderChrome();
    const detail = { ms: this.allLoadedMs, loaded, failed: this.countFailed(), total: this.jobs.length };
    if (this.options.onLoaded) this.options.onLoaded(detail);
    this.emit("loaded", detail);
  }

  countLoaded() {
    return this.jobs.filter((j) => j.status === "done" && !j.nonImage).length;
  }

  countFailed() {
    return this.jobs.filter((j) => j.status === "failed").length;
  }

  fail(message, kind) {
    this.fatal = { message, kind };
    this.setStatus("error");
    this.scheduleDraw();
    this.renderChrome();
    if (this.options.onError) this.options.onError({ message, kind });
    this.emit("error", { message, kind });
  }

  setStatus(status, text) {
    this.status = status;
    this.root.dataset.status = status;
    if (text !== undefined) this.statusText.textContent = text;
  }

  /** Retry: ask the server again for fresh (unexpired) URLs when it gave them, then refetch what failed. */
  async retry() {
    const fatal = this.fatal;
    if (!this.jobs.length || (fatal && ["source", "unauthorized", "empty"].includes(fatal.kind))) {
      if (this.options.source) this.loadFrom(this.options.source);
      else this.load(this.lastResponse || {});
      return;
    }
    const failed = this.jobs.filter((j) => j.status === "failed");
    if (!failed.length) return;
    const gen = this.generation;
    this.fatal = null;
    this.allLoadedMs = null;
    delete this.root.dataset.allLoadedMs;
    // "waiting": not fetched yet, but the load is not finished either while fresh URLs are asked for.
    for (const job of failed) job.status = "waiting";
    this.setStatus("loading", "Retrying…");
    if (this.options.source) {
      const fresh = await this.fetchFreshUrls();
      if (gen !== this.generation) return;
      if (fresh) {
        const byPath = new Map(fresh.map((u) => [stripQuery(u), u]));
        for (const job of failed) {
          job.url = byPath.get(stripQuery(job.url)) || (fresh.length === this.jobs.length ? fresh[job.index] : job.url);
        }
      }
    }
    for (const job of failed) {
      job.status = "pending";
      job.error = null;
      // A file that came back broken may sit in the browser's cache under the same URL (archives
      // often send cacheable 200s); a retry must ask the archive again.
      job.bypassCache = true;
      for (const slot of job.slots) {
        if (slot.status === "failed") {
          slot.status = "pending";
          slot.error = null;
        }
      }
    }
    this.scheduleDraw();
    this.renderChrome();
    this.pump();
  }

  async fetchFreshUrls() {
    const source = this.options.source;
    try {
      let body;
      if (typeof source === "function") body = await source();
      else {
        const resp = await fetch(source, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!resp.ok) return null;
        body = await resp.json();
      }
      if (!body || body.authorized === false || !Array.isArray(body.urls)) return null;
      return body.urls;
    } catch {
      return null;
    }
  }

  // ---- navigation and display state ----------------------------------------------------------

  currentIndex() {
    return this.current && this.currentSeries ? this.currentSeries.slots.indexOf(this.current) : -1;
  }

  setIndex(index) {
    const series = this.currentSeries;
    if (!series || !series.slots.length) return;
    const i = Math.max(0, Math.min(series.slots.length - 1, Math.round(index)));
    const slot = series.slots[i];
    if (slot === this.current) return;
    this.current = slot;
    series.lastSlot = slot;
    this.scheduleDraw();
    this.renderChrome();
    // The queue reorders around the new position on its next pick.
    this.pump();
  }

  step(delta) {
    this.userNavigated = true;
    const i = this.currentIndex();
    if (i < 0) return;
    this.setIndex(i + delta);
  }

  setSeries(uid) {
    const series = this.series.find((s) => s.uid === uid);
    if (!series || series === this.currentSeries) return;
    this.userNavigated = true;
    if (this.currentSeries) this.currentSeries.lastSlot = this.current;
    this.currentSeries = series;
    this.current = series.lastSlot || series.slots[0] || null;
    this.scheduleDraw();
    this.renderChrome();
    this.pump();
  }

  stepSeries(delta) {
    const i = this.series.indexOf(this.currentSeries);
    const next = this.series[i + delta];
    if (next) this.setSeries(next.uid);
  }

  currentWindow() {
    const series = this.currentSeries;
    if (series && series.window) return series.window;
    if (this.current && this.current.image) return defaultWindow(this.current.image);
    return null;
  }

  setWindow(center, width) {
    if (!this.currentSeries) return;
    this.currentSeries.window = { center, width: Math.max(1, width) };
    this.currentSeries.preset = "custom";
    this.scheduleDraw();
    this.renderChrome();
  }

  applyPreset(id) {
    const series = this.currentSeries;
    if (!series) return;
    const preset = PRESETS.find((p) => p.id === id);
    if (!preset) return;
    if (id === "default") series.window = null;
    else if (id === "auto") series.window = this.current && this.current.image ? autoWindow(this.current.image) : null;
    else series.window = { center: preset.center, width: preset.width };
    series.preset = id;
    this.scheduleDraw();
    this.renderChrome();
  }

  setTool(tool) {
    this.tool = tool;
    for (const [t, b] of Object.entries(this.toolButtons)) b.setAttribute("aria-pressed", String(t === tool));
  }

  zoomBy(factor) {
    this.view.zoom = Math.max(0.1, Math.min(40, this.view.zoom * factor));
    this.scheduleDraw();
    this.renderChrome();
  }

  toggleInvert() {
    this.view.invert = !this.view.invert;
    this.invertBtn.setAttribute("aria-pressed", String(this.view.invert));
    this.scheduleDraw();
  }

  reset() {
    this.view = { zoom: 1, panX: 0, panY: 0, invert: false };
    this.invertBtn.setAttribute("aria-pressed", "false");
    if (this.currentSeries) {
      this.currentSeries.window = null;
      this.currentSeries.preset = "default";
    }
    this.scheduleDraw();
    this.renderChrome();
  }

  // ---- input --------------------------------------------------------------------------------

  onKey(e) {
    const target = e.target;
    const tag = target && target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    if (e.altKey || e.metaKey || e.ctrlKey) return;
    const n = this.currentSeries ? this.currentSeries.slots.length : 0;
    const page = Math.max(1, Math.round(n / 10));
    let handled = true;
    switch (e.key) {
      case "ArrowDown":
      case "ArrowRight":
        this.step(1);
        break;
      case "ArrowUp":
      case "ArrowLeft":
        this.step(-1);
        break;
      case "PageDown":
        this.step(page);
        break;
      case "PageUp":
        this.step(-page);
        break;
      case "Home":
        this.userNavigated = true;
        this.setIndex(0);
        break;
      case "End":
        this.userNavigated = true;
        this.setIndex(n - 1);
        break;
      case "+":
      case "=":
        this.zoomBy(1.25);
        break;
      case "-":
        this.zoomBy(0.8);
        break;
      case "r":
      case "R":
      case "0":
        this.reset();
        break;
      case "i":
      case "I":
        this.toggleInvert();
        break;
      case "[":
        this.stepSeries(-1);
        break;
      case "k":
      case "K":
        if (!this.keyImageBtn) {
          handled = false;
          break;
        }
        this.saveKeyImage();
        break;
      case "]":
        this.stepSeries(1);
        break;
      default:
        if (/^[1-9]$/.test(e.key) && PRESETS[Number(e.key) - 1]) this.applyPreset(PRESETS[Number(e.key) - 1].id);
        else handled = false;
    }
    if (handled) e.preventDefault();
  }

  onWheel(e) {
    e.preventDefault();
    if (e.ctrlKey) {
      this.zoomBy(e.deltaY < 0 ? 1.1 : 1 / 1.1);
      return;
    }
    // A mouse notch is one slice; trackpads send many small deltas, summed to ~50 px per slice.
    const delta = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
    if (Math.abs(delta) >= 50) {
      this.wheelAccum = 0;
      this.step(Math.sign(delta));
      return;
    }
    this.wheelAccum = (this.wheelAccum || 0) + delta;
    if (Math.abs(this.wheelAccum) >= 50) {
      this.step(Math.sign(this.wheelAccum));
      this.wheelAccum = 0;
    }
  }

  onPointerDown(e) {
    if (e.target === this.retryBtn) return;
    this.viewport.focus({ preventScroll: true });
    let mode = this.tool;
    if (e.button === 1 || (e.button === 0 && e.shiftKey)) mode = "pan";
    else if (e.button === 2 || (e.button === 0 && e.ctrlKey)) mode = "zoom";
    else if (e.button !== 0) return;
    const win = this.currentWindow();
    this.drag = {
      mode,
      x: e.clientX,
      y: e.clientY,
      window: win ? { ...win } : null,
      zoom: this.view.zoom,
      panX: this.view.panX,
      panY: this.view.panY,
    };
    try {
      this.viewport.setPointerCapture(e.pointerId);
    } catch {
      // synthetic events have no capturable pointer
    }
  }

  onPointerMove(e) {
    const d = this.drag;
    if (!d) return;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    if (d.mode === "window" && d.window) {
      const img = this.current && this.current.image;
      const range = img ? Math.max(1, (img.max - img.min) * Math.abs(img.slope || 1)) : 256;
      const sens = Math.max(0.05, range / 512);
      this.setWindow(d.window.center + dy * sens, d.window.width + dx * sens);
    } else if (d.mode === "pan") {
      this.view.panX = d.panX + dx;
      this.view.panY = d.panY + dy;
      this.scheduleDraw();
    } else if (d.mode === "zoom") {
      this.view.zoom = Math.max(0.1, Math.min(40, d.zoom * Math.exp(-dy / 150)));
      this.scheduleDraw();
      this.renderChrome();
    }
  }

  onPointerUp() {
    this.drag = null;
  }

  // ---- drawing ------------------------------------------------------------------------------

  scheduleDraw() {
    this.drawPending = true;
    this.requestFrame();
  }

  /** Progress updates while files stream in are batched: at most one DOM update per frame. */
  scheduleChrome() {
    this.chromePending = true;
    this.requestFrame();
  }

  requestFrame() {
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame(() => {
      this.framePending = false;
      if (this.chromePending) {
        this.chromePending = false;
        this.renderChrome();
      }
      if (this.drawPending) {
        this.drawPending = false;
        this.draw();
      }
    });
  }

  draw() {
    const dpr = window.devicePixelRatio || 1;
    const cssW = Math.max(1, this.viewport.clientWidth);
    const cssH = Math.max(1, this.viewport.clientHeight);
    const w = Math.round(cssW * dpr);
    const h = Math.round(cssH * dpr);
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    const slot0 = this.current;
    const img0 = slot0 && !this.fatal ? slot0.image : null;
    const win0 = img0 ? this.currentWindow() : null;
    const v = this.view;
    const paintKey = img0 ? [w, h, win0.center, win0.width, v.invert, v.zoom, v.panX, v.panY].join() : `empty ${w} ${h}`;
    if (this.painted && this.painted.image === img0 && this.painted.key === paintKey) {
      // Nothing on the canvas changed (files still streaming in): leave it alone.
      this.renderOverlay();
      this.renderMessage();
      return;
    }
    this.painted = { image: img0, key: paintKey };
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, h);
    const slot = this.current;
    const img = slot && !this.fatal ? slot.image : null;
    if (img) {
      const win = this.currentWindow();
      const r = this.rendered;
      if (r.slot !== slot || r.center !== win.center || r.width !== win.width || r.invert !== this.view.invert) {
        if (this.offscreen.width !== img.columns || this.offscreen.height !== img.rows || !this.imageData) {
          this.offscreen.width = img.columns;
          this.offscreen.height = img.rows;
          this.imageData = this.offctx.createImageData(img.columns, img.rows);
        }
        renderImage(img, win.center, win.width, this.view.invert, this.imageData);
        this.offctx.putImageData(this.imageData, 0, 0);
        this.rendered = { slot, center: win.center, width: win.width, invert: this.view.invert };
      }
      // Non-square pixels: stretch columns by the spacing ratio.
      const aspect = img.rowSpacing && img.columnSpacing ? img.columnSpacing / img.rowSpacing : 1;
      const iw = img.columns * aspect;
      const ih = img.rows;
      const fit = Math.min(cssW / iw, cssH / ih);
      const scale = fit * this.view.zoom;
      const dw = iw * scale;
      const dh = ih * scale;
      const dx = (cssW - dw) / 2 + this.view.panX;
      const dy = (cssH - dh) / 2 + this.view.panY;
      ctx.imageSmoothingEnabled = scale < 3;
      ctx.drawImage(this.offscreen, dx * dpr, dy * dpr, dw * dpr, dh * dpr);
      this.imageRect = { x: dx, y: dy, width: dw, height: dh };
      if (this.firstImageMs === null) {
        this.firstImageMs = Math.round(performance.now());
        this.root.dataset.firstImageMs = String(this.firstImageMs);
        const detail = { ms: this.firstImageMs, seriesInstanceUID: slot.series.uid, sopInstanceUID: img.sopInstanceUID };
        if (this.options.onFirstImage) this.options.onFirstImage(detail);
        this.emit("first-image", detail);
      }
    } else {
      this.imageRect = null;
    }
    this.renderOverlay();
    this.renderMessage();
  }

  renderOverlay() {
    const series = this.currentSeries;
    const slot = this.current;
    const o = this.overlay;
    if (!series || this.fatal) {
      for (const d of Object.values(o)) d.textContent = "";
      return;
    }
    const n = series.slots.length;
    const i = this.currentIndex() + 1;
    o.tl.textContent = [series.modality, series.description || `Series ${series.number ?? ""}`.trim()].filter(Boolean).join(" · ");
    o.tr.textContent = `Zoom ${Math.round(this.view.zoom * 100)}%`;
    const inst = slot && slot.image && slot.image.instanceNumber !== undefined ? ` (Im ${slot.image.instanceNumber})` : "";
    o.bl.textContent = `Slice ${i}/${n}${inst}`;
    const win = this.currentWindow();
    o.br.textContent = win ? `W ${fmt(win.width)} L ${fmt(win.center)}` : "";
    this.viewport.setAttribute(
      "aria-label",
      `Image viewer: ${series.description || "series"}, slice ${i} of ${n}` + (win ? `, window ${fmt(win.width)} level ${fmt(win.center)}` : ""),
    );
  }

  renderMessage() {
    let text = "";
    let retry = false;
    let alert = false;
    const slot = this.current;
    if (this.fatal) {
      text = this.fatal.message;
      retry = true;
      alert = true;
    } else if (this.status === "loading" && !this.jobs.length) {
      text = "Requesting images from the archive…";
    } else if (!slot) {
      text = this.jobs.length ? "Loading images…" : "";
    } else if (slot.status === "failed") {
      const n = this.currentSeries.slots.length;
      text = `Slice ${this.currentIndex() + 1} of ${n} could not be loaded. ${slot.error || ""}`.trim();
      retry = true;
      alert = true;
    } else if (!slot.image) {
      text = `Loading slice ${this.currentIndex() + 1} of ${this.currentSeries.slots.length}…`;
    }
    this.message.hidden = !text;
    this.message.classList.toggle("asv-message-error", alert);
    this.message.setAttribute("role", alert ? "alert" : "status");
    this.messageText.textContent = text;
    this.retryBtn.hidden = !retry;
  }

  /** Everything outside the canvas: series list, slider, presets, status bar. */
  renderChrome() {
    // Series list
    for (const series of this.series) {
      if (!series.item) {
        const thumb = el("canvas", { className: "asv-thumb", width: "64", height: "64", "aria-hidden": "true" });
        const title = el("span", { className: "asv-series-title" });
        const meta = el("span", { className: "asv-series-meta" });
        const button = el("button", { type: "button", className: "asv-series-btn" }, [thumb, title, meta]);
        button.addEventListener("click", () => this.setSeries(series.uid));
        series.item = { li: el("li", {}, [button]), button, thumb, title, meta };
      }
      const loaded = series.slots.filter((s) => s.image).length;
      const failed = series.slots.filter((s) => s.status === "failed").length;
      const n = series.slots.length;
      series.item.title.textContent = series.description || `Series ${series.number ?? ""}`.trim() || "Series";
      series.item.meta.textContent =
        `${series.modality ? series.modality + " · " : ""}${n} image${n === 1 ? "" : "s"}` +
        (loaded < n ? ` · ${loaded} loaded` : "") +
        (failed ? ` · ${failed} failed` : "");
      series.item.button.setAttribute("aria-pressed", String(series === this.currentSeries));
      if (!series.thumbDrawn) {
        const slot = series.slots.find((s) => s.image);
        if (slot) this.drawThumb(series, slot.image);
      }
    }
    const wanted = this.series.map((s) => s.item.li);
    if (wanted.length !== this.seriesList.children.length || wanted.some((li, i) => this.seriesList.children[i] !== li)) {
      this.seriesList.replaceChildren(...wanted);
    }
    // Slider
    const series = this.currentSeries;
    const n = series ? series.slots.length : 0;
    const i = this.currentIndex();
    this.slider.disabled = n <= 1 || Boolean(this.fatal);
    this.slider.max = String(Math.max(1, n));
    this.slider.value = String(Math.max(1, i + 1));
    this.slider.setAttribute("aria-valuetext", n ? `Slice ${i + 1} of ${n}` : "No images");
    this.sliceLabel.textContent = n ? `${i + 1} / ${n}` : "";
    if (series && series.preset === "custom") this.presetSelect.selectedIndex = -1;
    else this.presetSelect.value = series ? series.preset : "default";
    // Status
    const total = this.jobs.length;
    const loaded = this.countLoaded();
    const failed = this.countFailed();
    this.root.dataset.loaded = String(loaded);
    this.root.dataset.failed = String(failed);
    this.root.dataset.total = String(total);
    if (this.fatal) this.statusText.textContent = this.fatal.message;
    else if (total) {
      const pending = total - loaded - failed - this.jobs.filter((j) => j.nonImage).length;
      this.statusText.textContent =
        (pending > 0 ? `Loading images: ${loaded} of ${total}` : `${loaded} of ${total} images loaded`) +
        (failed ? `; ${failed} could not be loaded.` : ".");
    }
    this.failRetryBtn.hidden = !(failed && !this.fatal && this.status !== "loading");
    if (this.options.onProgress) this.options.onProgress({ loaded, failed, total });
    this.renderOverlay();
    this.renderMessage();
  }

  drawThumb(series, img) {
    const c = series.item.thumb;
    const ctx = c.getContext("2d");
    const tmp = document.createElement("canvas");
    tmp.width = img.columns;
    tmp.height = img.rows;
    const tctx = tmp.getContext("2d");
    const data = tctx.createImageData(img.columns, img.rows);
    const win = defaultWindow(img);
    renderImage(img, win.center, win.width, false, data);
    tctx.putImageData(data, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, c.width, c.height);
    const s = Math.min(c.width / img.columns, c.height / img.rows);
    ctx.drawImage(tmp, (c.width - img.columns * s) / 2, (c.height - img.rows * s) / 2, img.columns * s, img.rows * s);
    series.thumbDrawn = true;
  }

  renderMedia(media) {
    this.mediaList.textContent = "";
    for (const m of media) {
      if (!m || typeof m.url !== "string" || !/^https?:/i.test(m.url)) continue;
      const name = typeof m.fileName === "string" && m.fileName ? m.fileName : m.mimeType || "attachment";
      const a = el("a", { href: m.url, target: "_blank", rel: "noopener noreferrer", text: name });
      this.mediaList.append(el("li", {}, [a]));
    }
    this.mediaBox.hidden = !this.mediaList.children.length;
  }

  // ---- key images -----------------------------------------------------------------------------

  /** The viewport as drawn: its 8-bit pixels (device pixels), grey when every pixel is grey. */
  captureViewport() {
    if (this.drawPending) {
      this.drawPending = false;
      this.draw();
    }
    const slot = this.current;
    if (!slot || !slot.image || this.fatal) return null;
    const columns = this.canvas.width;
    const rows = this.canvas.height;
    const rgba = this.ctx.getImageData(0, 0, columns, rows).data;
    const n = columns * rows;
    let grey = true;
    for (let j = 0; j < rgba.length; j += 4) {
      if (rgba[j] !== rgba[j + 1] || rgba[j] !== rgba[j + 2]) {
        grey = false;
        break;
      }
    }
    let pixels;
    if (grey) {
      pixels = new Uint8Array(n);
      for (let i = 0, j = 0; i < n; i++, j += 4) pixels[i] = rgba[j];
    } else {
      pixels = new Uint8Array(n * 3);
      for (let i = 0, j = 0, k = 0; i < n; i++, j += 4, k += 3) {
        pixels[k] = rgba[j];
        pixels[k + 1] = rgba[j + 1];
        pixels[k + 2] = rgba[j + 2];
      }
    }
    const win = this.currentWindow();
    return {
      columns,
      rows,
      photometricInterpretation: grey ? "MONOCHROME2" : "RGB",
      pixels,
      sourceSopInstanceUid: slot.image.sopInstanceUID || slot.sopInstanceUID || null,
      sourceSopClassUid: slot.image.sopClassUID || null,
      sourceSeriesInstanceUid: slot.series && !String(slot.series.uid).startsWith("unknown-") ? slot.series.uid : null,
      windowCenter: win ? win.center : null,
      windowWidth: win ? win.width : null,
      zoom: this.view.zoom,
      inverted: this.view.invert,
    };
  }

  setKeyImageState(state, text) {
    if (!this.keyImageStatus) return;
    this.keyImageStatus.dataset.state = state;
    this.keyImageStatus.textContent = text;
    this.keyImageStatus.classList.toggle("asv-key-image-error", state === "error" || state === "refused");
  }

  /** Send the viewport to the page's key-image endpoint, which stores it as a DICOM Secondary Capture. */
  async saveKeyImage() {
    if (!this.options.keyImageUrl || this.keyImageSaving) return;
    const shot = this.captureViewport();
    if (!shot) {
      this.setKeyImageState("error", "There is no image on screen to save.");
      return;
    }
    this.keyImageSaving = true;
    this.keyImageBtn.disabled = true;
    this.setKeyImageState("saving", "Saving key image…");
    let detail;
    try {
      const { pixels, ...fields } = shot;
      const packed = await packPixels(pixels);
      const headers = { "Content-Type": "application/json", Accept: "application/json" };
      if (this.options.csrfToken) headers["X-CSRF-Token"] = this.options.csrfToken;
      const resp = await fetch(this.options.keyImageUrl, {
        method: "POST",
        credentials: "same-origin",
        headers,
        body: JSON.stringify({ ...fields, ...packed }),
      });
      let json = null;
      try {
        json = await resp.json();
      } catch {
        json = null;
      }
      if (!resp.ok) {
        const e = json && json.error;
        const text = typeof e === "string" ? e : e && e.message;
        detail = { state: "error", message: `Key image not saved: ${text || `the server answered HTTP ${resp.status}.`}`, status: resp.status };
      } else if (!json || json.saved !== true) {
        const text = json && typeof json.error === "string" && json.error.trim() ? json.error.trim() : "the archive did not accept it.";
        detail = { state: "refused", message: `Key image not saved: ${text}` };
      } else {
        const n = json.uploads;
        detail = {
          state: "saved",
          message: `Key image saved to the study's archive${n > 1 ? ` (${n} destinations)` : ""}.`,
          seriesInstanceUID: json.seriesInstanceUid,
          sopInstanceUID: json.sopInstanceUid,
        };
      }
    } catch {
      detail = { state: "error", message: "Key image not saved: could not reach the server (network error)." };
    } finally {
      this.keyImageSaving = false;
      this.keyImageBtn.disabled = false;
    }
    this.setKeyImageState(detail.state, detail.message);
    this.emit("key-image", detail);
  }

  /** A snapshot for pages, tests and benchmarks. */
  state() {
    const series = this.currentSeries;
    const slot = this.current;
    const win = this.currentWindow();
    return {
      status: this.status,
      error: this.fatal ? this.fatal.message : null,
      errorKind: this.fatal ? this.fatal.kind : null,
      total: this.jobs.length,
      loaded: this.countLoaded(),
      failed: this.countFailed(),
      firstImageMs: this.firstImageMs,
      allLoadedMs: this.allLoadedMs,
      series: this.series.map((s) => ({
        seriesInstanceUID: s.uid,
        description: s.description,
        modality: s.modality,
        seriesNumber: s.number ?? null,
        count: s.slots.length,
        loaded: s.slots.filter((x) => x.image).length,
      })),
      current: series
        ? {
            seriesInstanceUID: series.uid,
            index: this.currentIndex(),
            total: series.slots.length,
            status: slot ? slot.status : null,
            error: slot ? slot.error : null,
            sopInstanceUID: slot ? slot.sopInstanceUID : null,
            instanceNumber: slot && slot.image ? (slot.image.instanceNumber ?? null) : null,
            photometric: slot && slot.image ? slot.image.photometric : null,
          }
        : null,
      window: win ? { center: win.center, width: win.width } : null,
      zoom: this.view.zoom,
      pan: { x: this.view.panX, y: this.view.panY },
      invert: this.view.invert,
      imageRect: this.imageRect,
      canvas: { width: this.canvas.width, height: this.canvas.height },
      keyImage: this.keyImageStatus ? { state: this.keyImageStatus.dataset.state || null, message: this.keyImageStatus.textContent } : null,
    };
  }
}
