"""Decoding JPEG-LS in the browser versus transcoding on the server: what each adds to the first image.

The workspace shows archived JPEG-LS / JPEG 2000 / RLE slices either by transcoding them on the
server to uncompressed (what AutoScribe does: dicom/viewing.py) or by decoding them in the browser
with a WebAssembly codec (CharLS from @cornerstonejs/codec-charls, as OHIF/cornerstone do). This
prints, for slices of the sample chest CT (512x512, 12-bit, JPEG-LS lossless):

- server: the transcode of one instance as the archive route does it (read, decode, re-encode as
  Explicit VR Little Endian), p50/p95 over the slices, in this Python process;
- browser: in Debian's Chromium on a loopback page, the codec's cold start (script + WASM fetch,
  compile, instantiate) and the decode of the first slice, then p50/p95 of warm decodes;
- the bytes each way puts on the wire for one slice.

The codec is not part of the product; fetch it for the measurement only:

    npm install --prefix var/codec @cornerstonejs/codec-charls@1.2.7
    .venv/bin/python bench/browser_decode.py [--slices 20] [--size 512]
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import sys
import threading
import time
from functools import partial
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright
from pydicom import dcmread
from pydicom.encaps import generate_frames
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from autoscribe.dicom.phantom import chest_ct
from autoscribe.dicom.web import transcode

ROOT = Path(__file__).resolve().parents[1]
CODEC = ROOT / "var" / "codec" / "node_modules" / "@cornerstonejs" / "codec-charls" / "dist"
CHROMIUM = "/usr/bin/chromium"

PAGE = """<!doctype html><meta charset="utf-8"><script src="/charlswasm_decode.js"></script>
<script>
window.measure = async (count) => {
  const t0 = performance.now();
  const codec = await CharLSWASM({ locateFile: (f) => "/" + f });
  const ready = performance.now() - t0;
  const times = [];
  for (let i = 0; i < count; i++) {
    const bytes = new Uint8Array(await (await fetch(`/frame-${i}.jls`)).arrayBuffer());
    const start = performance.now();
    const decoder = new codec.JpegLSDecoder();
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    decoder.decode();
    const info = decoder.getFrameInfo();
    const pixels = decoder.getDecodedBuffer();
    if (info.width * info.height * 2 !== pixels.length) throw new Error("bad decode");
    decoder.delete();
    times.push(performance.now() - start);
  }
  return { ready, times };
};
</script>"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slices", type=int, default=20)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    if not (CODEC / "charlswasm_decode.wasm").exists():
        raise SystemExit(
            f"no codec in {CODEC}: npm install --prefix var/codec @cornerstonejs/codec-charls@1.2.7"
        )

    instances = list(chest_ct(generate_uid(), slices=args.slices, size=args.size, compress_every=1))
    server_ms, plain_sizes = [], []
    for data in instances:
        started = time.perf_counter()
        plain = transcode(data, ExplicitVRLittleEndian)
        server_ms.append((time.perf_counter() - started) * 1000)
        plain_sizes.append(len(plain))
    print(
        f"{args.slices} slices {args.size}x{args.size} JPEG-LS lossless: "
        f"{statistics.mean(map(len, instances)) / 1024:.0f} KiB stored, "
        f"{statistics.mean(plain_sizes) / 1024:.0f} KiB uncompressed on the wire"
    )
    p50, p95 = percentile(server_ms, 50), percentile(server_ms, 95)
    print(f"server transcode per slice: p50 {p50:.1f} ms  p95 {p95:.1f} ms")

    served = ROOT / "var" / "codec" / "page"
    served.mkdir(parents=True, exist_ok=True)
    for name in ("charlswasm_decode.js", "charlswasm_decode.wasm"):
        (served / name).write_bytes((CODEC / name).read_bytes())
    (served / "index.html").write_text(PAGE)
    for index, data in enumerate(instances):
        ds = dcmread(BytesIO(data))
        frame = next(generate_frames(ds.PixelData, number_of_frames=1))
        (served / f"frame-{index}.jls").write_bytes(frame)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            colds, firsts, warm = [], [], []
            for _ in range(5):  # cold: a fresh context each time (no cached or compiled module)
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/index.html")
                result = page.evaluate("(n) => window.measure(n)", args.slices)
                colds.append(result["ready"])
                firsts.append(result["times"][0])
                warm += result["times"][1:]
                context.close()
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    print(
        f"browser codec cold start (fetch + compile + instantiate): p50 {percentile(colds, 50):.1f} ms  "
        f"max {max(colds):.1f} ms"
    )
    print(f"browser first decode: p50 {percentile(firsts, 50):.1f} ms")
    print(
        f"browser warm decode per slice: p50 {percentile(warm, 50):.1f} ms  p95 {percentile(warm, 95):.1f} ms"
    )
    print(
        "first image, what differs: server "
        f"{percentile(server_ms, 50):.1f} ms transcode vs browser "
        f"{percentile(colds, 50) + percentile(firsts, 50):.1f} ms cold codec + decode"
    )


if __name__ == "__main__":
    main()
