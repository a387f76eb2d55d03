// DICOM Part 10 decoding: dicom-parser reads the data set; this module turns the pixel data of
// uncompressed transfer syntaxes into typed arrays the renderer can window.
import dicomParser from "dicom-parser";

const IMPLICIT_LE = "1.2.840.10008.1.2";
const EXPLICIT_LE = "1.2.840.10008.1.2.1";
const EXPLICIT_BE = "1.2.840.10008.1.2.2";

// Names for the syntaxes we refuse, so the message tells a person what the archive sent.
const COMPRESSED_NAMES = {
  "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
  "1.2.840.10008.1.2.4.50": "JPEG Baseline",
  "1.2.840.10008.1.2.4.51": "JPEG Extended",
  "1.2.840.10008.1.2.4.57": "JPEG Lossless",
  "1.2.840.10008.1.2.4.70": "JPEG Lossless (SV1)",
  "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
  "1.2.840.10008.1.2.4.81": "JPEG-LS Near-Lossless",
  "1.2.840.10008.1.2.4.90": "JPEG 2000 Lossless",
  "1.2.840.10008.1.2.4.91": "JPEG 2000",
  "1.2.840.10008.1.2.4.201": "HTJ2K Lossless",
  "1.2.840.10008.1.2.4.202": "HTJ2K Lossless RPCL",
  "1.2.840.10008.1.2.4.203": "HTJ2K",
  "1.2.840.10008.1.2.5": "RLE Lossless",
  "1.2.840.10008.1.2.4.100": "MPEG-2",
  "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264",
  "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
};

export class DicomError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "DicomError";
    // "broken": not readable DICOM; "unsupported": readable but not decodable here;
    // "nonimage": a valid object without pixels (SR, KO, PR).
    this.code = code;
  }
}

function str(ds, tag) {
  const v = ds.string(tag);
  return v === undefined ? "" : v;
}

function num(ds, tag, index = 0) {
  const v = ds.floatString(tag, index);
  return v === undefined || Number.isNaN(v) ? undefined : v;
}

function int(ds, tag) {
  const v = ds.intString(tag);
  return v === undefined || Number.isNaN(v) ? undefined : v;
}

function floats(ds, tag, count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const v = num(ds, tag, i);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

function errorText(e) {
  if (typeof e === "string") return e;
  if (e && e.exception) return String(e.exception);
  return (e && e.message) || String(e);
}

export function describeTransferSyntax(uid) {
  if (uid === IMPLICIT_LE) return "Implicit VR Little Endian";
  if (uid === EXPLICIT_LE) return "Explicit VR Little Endian";
  if (uid === EXPLICIT_BE) return "Explicit VR Big Endian";
  return COMPRESSED_NAMES[uid] || `transfer syntax ${uid}`;
}

/**
 * Decode one DICOM file. Returns {meta, frames}: meta holds the identifying attributes; frames is
 * one image object per frame (multi-frame files become several slices).
 * Throws DicomError with code broken / unsupported / nonimage.
 */
export function decodeDicom(buffer) {
  const bytes = new Uint8Array(buffer);
  let header;
  try {
    header = dicomParser.readPart10Header(bytes);
  } catch (e) {
    throw new DicomError(`Not a readable DICOM file (${errorText(e)})`, "broken");
  }
  const ts = str(header, "x00020010") || IMPLICIT_LE;
  if (ts !== IMPLICIT_LE && ts !== EXPLICIT_LE && ts !== EXPLICIT_BE) {
    throw new DicomError(
      `This image uses ${describeTransferSyntax(ts)} compression, which this viewer does not decode yet ` +
        "(it reads uncompressed DICOM). Ask the archive to send uncompressed images.",
      "unsupported",
    );
  }
  let ds;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (e) {
    throw new DicomError(`Not a readable DICOM file (${errorText(e)})`, "broken");
  }

  const meta = {
    transferSyntax: ts,
    sopInstanceUID: str(ds, "x00080018"),
    sopClassUID: str(ds, "x00080016"),
    studyInstanceUID: str(ds, "x0020000d"),
    seriesInstanceUID: str(ds, "x0020000e"),
    seriesDescription: str(ds, "x0008103e"),
    seriesNumber: int(ds, "x00200011"),
    modality: str(ds, "x00080060"),
    instanceNumber: int(ds, "x00200013"),
    imagePosition: floats(ds, "x00200032", 3),
    imageOrientation: floats(ds, "x00200037", 6),
  };

  const pixelElement = ds.elements.x7fe00010;
  if (!pixelElement) {
    if (ds.elements.x7fe00008 || ds.elements.x7fe00009) {
      throw new DicomError("Float pixel data is not supported by this viewer", "unsupported");
    }
    const err = new DicomError("This object has no image (for example a structured report)", "nonimage");
    err.meta = meta;
    throw err;
  }
  if (pixelElement.encapsulatedPixelData || pixelElement.hadUndefinedLength) {
    throw new DicomError("Encapsulated (compressed) pixel data is not supported by this viewer", "unsupported");
  }

  const rows = ds.uint16("x00280010");
  const columns = ds.uint16("x00280011");
  const samplesPerPixel = ds.uint16("x00280002") || 1;
  const bitsAllocated = ds.uint16("x00280100");
  const bitsStored = ds.uint16("x00280101") || bitsAllocated;
  const pixelRepresentation = ds.uint16("x00280103") || 0;
  const planarConfiguration = ds.uint16("x00280006") || 0;
  const photometric = (str(ds, "x00280004") || (samplesPerPixel === 3 ? "RGB" : "MONOCHROME2")).toUpperCase();
  const numberOfFrames = Math.max(1, int(ds, "x00280008") || 1);
  if (!rows || !columns) throw new DicomError("The image has no Rows/Columns", "broken");
  if (![8, 16, 32].includes(bitsAllocated)) {
    throw new DicomError(`${bitsAllocated}-bit pixel data is not supported by this viewer`, "unsupported");
  }
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3) {
    throw new DicomError(`${samplesPerPixel} samples per pixel is not supported`, "unsupported");
  }
  const colour = samplesPerPixel === 3;
  if (colour && !["RGB", "YBR_FULL"].includes(photometric)) {
    throw new DicomError(`Photometric interpretation ${photometric} is not supported`, "unsupported");
  }
  if (!colour && photometric !== "MONOCHROME1" && photometric !== "MONOCHROME2") {
    throw new DicomError(`Photometric interpretation ${photometric} is not supported`, "unsupported");
  }
  if (colour && bitsAllocated !== 8) {
    throw new DicomError("Colour images must be 8 bits per sample", "unsupported");
  }

  const bytesPerSample = bitsAllocated / 8;
  const samples = rows * columns * samplesPerPixel;
  const frameBytes = samples * bytesPerSample;
  if (pixelElement.length < frameBytes * numberOfFrames) {
    throw new DicomError(
      `The pixel data is truncated (${pixelElement.length} bytes for ${numberOfFrames} frame(s) of ${frameBytes})`,
      "broken",
    );
  }
  if (pixelElement.dataOffset + frameBytes * numberOfFrames > bytes.length) {
    throw new DicomError("The file is truncated", "broken");
  }

  const slope = num(ds, "x00281053") ?? 1;
  const intercept = num(ds, "x00281052") ?? 0;
  const wc = num(ds, "x00281050");
  const ww = num(ds, "x00281051");
  const spacing = floats(ds, "x00280030", 2);

  const frames = [];
  for (let f = 0; f < numberOfFrames; f++) {
    const start = pixelElement.dataOffset + f * frameBytes;
    // slice() copies into a fresh, aligned buffer; the file's own buffer can then be dropped.
    const raw = bytes.slice(start, start + frameBytes);
    let pixels = toTypedArray(raw.buffer, bitsAllocated, pixelRepresentation, ts === EXPLICIT_BE);
    if (!colour && bitsStored < bitsAllocated) {
      pixels = maskStoredBits(pixels, bitsStored, pixelRepresentation === 1);
    }
    if (colour && photometric === "YBR_FULL") ybrToRgb(pixels, planarConfiguration, rows * columns);
    let min = 0;
    let max = 255;
    if (!colour) [min, max] = minMax(pixels);
    frames.push({
      ...meta,
      frame: f,
      numberOfFrames,
      rows,
      columns,
      samplesPerPixel,
      photometric: colour ? "RGB" : photometric,
      planarConfiguration,
      bitsAllocated,
      bitsStored,
      pixelRepresentation,
      slope,
      intercept,
      windowCenter: ww && ww > 0 ? wc : undefined,
      windowWidth: ww && ww > 0 ? ww : undefined,
      rowSpacing: spacing ? spacing[0] : undefined,
      columnSpacing: spacing ? spacing[1] : undefined,
      pixels,
      min,
      max,
    });
  }
  return { meta, frames };
}

function toTypedArray(buffer, bitsAllocated, pixelRepresentation, bigEndian) {
  if (bitsAllocated === 8) return pixelRepresentation ? new Int8Array(buffer) : new Uint8Array(buffer);
  if (bigEndian) {
    const b = new Uint8Array(buffer);
    const step = bitsAllocated / 8;
    for (let i = 0; i < b.length; i += step) {
      for (let j = 0; j < step / 2; j++) {
        const t = b[i + j];
        b[i + j] = b[i + step - 1 - j];
        b[i + step - 1 - j] = t;
      }
    }
  }
  if (bitsAllocated === 16) return pixelRepresentation ? new Int16Array(buffer) : new Uint16Array(buffer);
  return pixelRepresentation ? new Int32Array(buffer) : new Uint32Array(buffer);
}

// Bits above BitsStored may hold overlays or garbage: keep only the stored bits, sign-extending
// signed data (a 12-bit signed CT in 16-bit words, for example).
function maskStoredBits(pixels, bitsStored, signed) {
  const n = pixels.length;
  const mask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
  const shift = 32 - bitsStored;
  const out = signed
    ? new (pixels.BYTES_PER_ELEMENT === 1 ? Int8Array : pixels.BYTES_PER_ELEMENT === 2 ? Int16Array : Int32Array)(n)
    : pixels;
  for (let i = 0; i < n; i++) {
    const v = pixels[i] & mask;
    out[i] = signed ? (v << shift) >> shift : v;
  }
  return out;
}

function ybrToRgb(p, planar, n) {
  for (let i = 0; i < n; i++) {
    const iy = planar ? i : 3 * i;
    const ib = planar ? n + i : 3 * i + 1;
    const ir = planar ? 2 * n + i : 3 * i + 2;
    const y = p[iy];
    const cb = p[ib] - 128;
    const cr = p[ir] - 128;
    p[iy] = clamp255(y + 1.402 * cr);
    p[ib] = clamp255(y - 0.344136 * cb - 0.714136 * cr);
    p[ir] = clamp255(y + 1.772 * cb);
  }
}

function clamp255(v) {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

function minMax(pixels) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return [0, 0];
  return [min, max];
}

/** Sort key: InstanceNumber, then position along the slice normal, then SOP Instance UID, then frame. */
export function sliceSortKey(info) {
  let position = 0;
  if (info.imagePosition) {
    const o = info.imageOrientation;
    if (o) {
      const nx = o[1] * o[5] - o[2] * o[4];
      const ny = o[2] * o[3] - o[0] * o[5];
      const nz = o[0] * o[4] - o[1] * o[3];
      position = info.imagePosition[0] * nx + info.imagePosition[1] * ny + info.imagePosition[2] * nz;
    } else {
      position = info.imagePosition[2];
    }
  }
  return [
    info.instanceNumber === undefined || info.instanceNumber === null || info.instanceNumber === 0
      ? Number.MAX_SAFE_INTEGER
      : info.instanceNumber,
    position,
    info.sopInstanceUID || "",
    info.frame || 0,
  ];
}

export function compareKeys(a, b) {
  for (let i = 0; i < a.length; i++) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}
