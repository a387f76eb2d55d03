// Pixels → RGBA: modality rescale (slope/intercept), linear VOI window (PS3.3 C.11.2.1.2),
// MONOCHROME1 inversion, RGB with planar configuration 0 or 1.

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function pack(v) {
  // ImageData is RGBA in memory; a Uint32 view is ABGR on little-endian machines.
  return LITTLE_ENDIAN ? (0xff000000 | (v << 16) | (v << 8) | v) >>> 0 : ((v << 24) | (v << 16) | (v << 8) | 0xff) >>> 0;
}

/** The DICOM linear VOI function mapped to 0..255. */
export function windowValue(x, center, width) {
  const w = Math.max(1, width);
  const low = center - 0.5 - (w - 1) / 2;
  const high = center - 0.5 + (w - 1) / 2;
  if (x <= low) return 0;
  if (x > high) return 255;
  return Math.round(((x - (center - 0.5)) / (w - 1) + 0.5) * 255);
}

/** The window a slice opens with: the file's WindowCenter/Width, else its full modality range. */
export function defaultWindow(img) {
  if (img.samplesPerPixel === 3) return { center: 128, width: 256 };
  if (img.windowWidth !== undefined && img.windowCenter !== undefined) {
    return { center: img.windowCenter, width: img.windowWidth };
  }
  return autoWindow(img);
}

export function autoWindow(img) {
  if (img.samplesPerPixel === 3) return { center: 128, width: 256 };
  const a = img.min * img.slope + img.intercept;
  const b = img.max * img.slope + img.intercept;
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  return { center: (lo + hi) / 2 + 0.5, width: Math.max(1, hi - lo + 1) };
}

/** Write img into imageData (same size) with the given window; invert flips the grey scale. */
export function renderImage(img, center, width, invert, imageData) {
  const out = new Uint32Array(imageData.data.buffer);
  const n = img.rows * img.columns;
  const px = img.pixels;
  const flip = (img.photometric === "MONOCHROME1") !== Boolean(invert);
  if (img.samplesPerPixel === 3) {
    const lut = new Uint8Array(256);
    for (let i = 0; i < 256; i++) lut[i] = flip ? 255 - windowValue(i, center, width) : windowValue(i, center, width);
    const planar = img.planarConfiguration === 1;
    const data = imageData.data;
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      const r = planar ? px[i] : px[3 * i];
      const g = planar ? px[n + i] : px[3 * i + 1];
      const b = planar ? px[2 * n + i] : px[3 * i + 2];
      data[j] = lut[r];
      data[j + 1] = lut[g];
      data[j + 2] = lut[b];
      data[j + 3] = 255;
    }
    return;
  }
  const range = img.max - img.min + 1;
  if (range <= 1 << 20) {
    // One table entry per stored value: the per-pixel loop is then a single lookup.
    const lut = new Uint32Array(range);
    for (let i = 0; i < range; i++) {
      let v = windowValue((img.min + i) * img.slope + img.intercept, center, width);
      if (flip) v = 255 - v;
      lut[i] = pack(v);
    }
    const min = img.min;
    for (let i = 0; i < n; i++) out[i] = lut[px[i] - min];
    return;
  }
  for (let i = 0; i < n; i++) {
    let v = windowValue(px[i] * img.slope + img.intercept, center, width);
    if (flip) v = 255 - v;
    out[i] = pack(v);
  }
}
