// The integrator's optional manifest (StudyAccessRequestedManifest): lets the viewer lay out
// series and slices before any file arrives. Invalid parts are ignored, as the API reference says;
// the URLs still load without it.

function nonEmpty(v) {
  return typeof v === "string" && v.trim() !== "";
}

function positiveInt(v) {
  return Number.isInteger(v) && v > 0;
}

/**
 * Normalise one manifest or a list of manifests (ephemeral sessions send `manifests`) into
 * [{uid, description, modality, number, sops: [{sopInstanceUID, instanceNumber, frames}]}].
 * Non-image SOPs (SR, KO, PR: no rows/columns) are left out of the layout.
 */
export function parseManifest(manifest) {
  const list = Array.isArray(manifest) ? manifest : manifest ? [manifest] : [];
  const out = [];
  const seen = new Set();
  for (const m of list) {
    if (!m || typeof m !== "object" || !Array.isArray(m.series)) continue;
    for (const s of m.series) {
      if (!s || typeof s !== "object" || !nonEmpty(s.seriesInstanceUID) || !Array.isArray(s.sops)) continue;
      if (seen.has(s.seriesInstanceUID)) continue;
      const sops = [];
      const sopSeen = new Set();
      for (const sop of s.sops) {
        if (!sop || typeof sop !== "object" || !nonEmpty(sop.sopInstanceUID)) continue;
        if (!positiveInt(sop.rows) || !positiveInt(sop.columns)) continue;
        if (sopSeen.has(sop.sopInstanceUID)) continue;
        sopSeen.add(sop.sopInstanceUID);
        const frames = positiveInt(sop.numberOfFrames) ? sop.numberOfFrames : 1;
        sops.push({
          sopInstanceUID: sop.sopInstanceUID.trim(),
          instanceNumber: Number.isFinite(Number(sop.instanceNumber)) ? Number(sop.instanceNumber) : undefined,
          frames,
        });
      }
      if (!sops.length) continue;
      seen.add(s.seriesInstanceUID);
      const number = Number(s.seriesNumber);
      out.push({
        uid: s.seriesInstanceUID.trim(),
        description: nonEmpty(s.seriesDescription) ? s.seriesDescription.trim() : "",
        modality: nonEmpty(s.modality) ? s.modality.trim() : "",
        number: Number.isFinite(number) ? number : undefined,
        sops,
      });
    }
  }
  return out;
}

const UID_TOKEN = /[0-9]+(?:\.[0-9]+)+/g;

/**
 * Which SOP Instance UID each URL points at, when the URL says so (presigned object keys and
 * WADO-URI links usually carry it). Returns an array parallel to urls (UID or null).
 */
export function sopUidsInUrls(urls, knownUids) {
  return urls.map((url) => {
    let text = url;
    try {
      text = decodeURIComponent(url);
    } catch {
      // keep the raw URL
    }
    const tokens = text.match(UID_TOKEN) || [];
    // Later tokens win: the object name comes after study/series folders.
    for (let i = tokens.length - 1; i >= 0; i--) {
      if (knownUids.has(tokens[i])) return tokens[i];
    }
    return null;
  });
}
