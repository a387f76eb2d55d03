// Public entry point, bundled as the global `AutoScribeViewer` (static/viewer/viewer.js).
import { decodeDicom, describeTransferSyntax } from "./dicom.js";
import { PRESETS, Viewer } from "./viewer.js";

export const version = "0.1.0";
export { PRESETS, Viewer, decodeDicom, describeTransferSyntax };

/**
 * Mount a viewer into `element`.
 * options: { source } — a same-origin URL (or async function) answering
 *            {authorized, urls, manifest?, manifests?, mediaUrls?, error?};
 *          or the same fields directly: { urls, manifest, mediaUrls, authorized, error };
 *          plus onError, onFirstImage, onProgress, onLoaded, concurrency, timeoutMs, sourceTimeoutMs, autofocus;
 *          keyImageUrl (+ csrfToken): show "Save key image" (K), which POSTs the viewport as drawn there.
 */
export function mount(element, options = {}) {
  if (typeof element === "string") element = document.querySelector(element);
  if (element && element.autoscribeViewer) element.autoscribeViewer.destroy();
  return new Viewer(element, options);
}

/** Mount every `[data-autoscribe-viewer][data-source]` element (server-rendered pages, no inline script). */
export function autoMount(root = document) {
  const viewers = [];
  for (const node of root.querySelectorAll("[data-autoscribe-viewer]")) {
    if (node.autoscribeViewer) continue;
    const opts = { source: node.dataset.source || undefined };
    if (node.dataset.concurrency) opts.concurrency = Number(node.dataset.concurrency);
    if (node.dataset.timeoutMs) opts.timeoutMs = Number(node.dataset.timeoutMs);
    if (node.hasAttribute("data-autofocus")) opts.autofocus = true;
    if (node.dataset.keyImageUrl) {
      // "Save key image" posts there with the page's CSRF token (workspace pages carry it in a meta tag).
      opts.keyImageUrl = node.dataset.keyImageUrl;
      const meta = document.querySelector('meta[name="csrf-token"]');
      opts.csrfToken = node.dataset.csrfToken || (meta ? meta.content : undefined);
    }
    viewers.push(new Viewer(node, opts));
  }
  return viewers;
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => autoMount());
  else autoMount();
}
