"""Time from opening the workspace's reroute URL to the first image drawn, and to all slices loaded.

Default: the real thing on loopback. A fresh data directory and `autoscribe serve` (SQLite), an
API key whose study webhook is the fake PACS (tests/fakepacs.py) holding a 300-slice 512x512
16-bit CT, a radiologist, a study created through the SDK; each run mints a new reroute URL
(they are single use) and opens it in a fresh browser context (cold cache): 303 to the
workspace page, the page loads the viewer, the viewer asks /workspace/<study>/images (which calls
study.access_requested on the PACS) and fetches the DICOM files from the PACS.

The figures come from the page itself: the viewer stamps `performance.now()` on its root element
as `data-first-image-ms` / `data-all-loaded-ms`; the time origin is the start of the navigation
to the reroute URL, so the redirect is included (same-origin redirects are counted by the
browser's navigation timing, shown separately).

    .venv/bin/python bench/viewer.py [--runs 7] [--slices 300] [--size 512] [--concurrency 6]
    .venv/bin/python bench/viewer.py --harness     # the viewer alone, on the tests' harness page
    .venv/bin/python bench/viewer.py --url URL     # a reusable page of your own
    .venv/bin/python bench/viewer.py --archive [--compression jpeg-ls|none]
        # the study in the platform's own DICOM archive (STOW-RS, seeded), no integrator; JPEG-LS
        # slices are transcoded to uncompressed on the server as the viewer fetches them

Target: first image under 1.5 s for the 300-slice CT on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Run:
    first_image_ms: float
    all_loaded_ms: float | None
    loaded: int
    total: int
    urls_ms: float | None  # the image list (webhook answer) arrived
    first_file_ms: float | None  # the first DICOM body arrived
    redirect_ms: float | None = None  # the reroute URL's 303 (token spent, session opened)
    page_ms: float | None = None  # the workspace page's HTML fully received
    wall_ms: float | None = None  # page.goto() called → first-image attribute seen (Playwright's view)
    list_requested_ms: float | None = None  # the viewer asked /workspace/<study>/images


def measure_once(browser: Browser, url: str, *, wait_all: bool = True, timeout_ms: float = 60_000) -> Run:
    """Open url in a fresh context and read the viewer's timestamps."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(".asv[data-first-image-ms]", state="attached", timeout=timeout_ms)
        wall = (time.perf_counter() - started) * 1000
        if wait_all:
            page.wait_for_selector(".asv[data-all-loaded-ms]", state="attached", timeout=timeout_ms)
        attrs = page.eval_on_selector(
            ".asv",
            "el => [el.dataset.firstImageMs, el.dataset.allLoadedMs, el.dataset.loaded, el.dataset.total,"
            " el.dataset.urlsMs, el.dataset.firstFileMs]",
        )
        nav = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " const i = performance.getEntriesByType('resource').find(e => /\\/images$/.test(e.name));"
            " return [n ? n.redirectEnd - n.redirectStart : null, n ? n.responseEnd : null,"
            " i ? i.startTime : null]; }"
        )
        first, all_loaded, loaded, total, urls, first_file = attrs
        return Run(
            float(first),
            float(all_loaded) if all_loaded else None,
            int(loaded or 0),
            int(total or 0),
            float(urls) if urls else None,
            float(first_file) if first_file else None,
            float(nav[0]) if nav[0] else None,
            float(nav[1]) if nav[1] is not None else None,
            wall,
            float(nav[2]) if nav[2] is not None else None,
        )
    finally:
        context.close()


def measure(
    page_url: str | Callable[[], str], runs: int = 7, *, warmup: int = 1, wait_all: bool = True
) -> list[Run]:
    """Measure `runs` cold page opens (after `warmup` unrecorded ones) of page_url."""
    url_for = page_url if callable(page_url) else (lambda: page_url)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for _ in range(warmup):
                measure_once(browser, url_for(), wait_all=wait_all)
            return [measure_once(browser, url_for(), wait_all=wait_all) for _ in range(runs)]
        finally:
            browser.close()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def report(runs: list[Run]) -> None:
    first = [r.first_image_ms for r in runs]
    print(f"runs: {len(runs)}")
    print(
        f"first image drawn: p50 {percentile(first, 50):.0f} ms  p95 {percentile(first, 95):.0f} ms  "
        f"min {min(first):.0f}  max {max(first):.0f}  mean {statistics.mean(first):.0f}"
    )
    for label, values in (
        (
            "  of which: redirect (token → session)",
            [r.redirect_ms for r in runs if r.redirect_ms is not None],
        ),
        ("            page received", [r.page_ms for r in runs if r.page_ms is not None]),
        (
            "            image list requested",
            [r.list_requested_ms for r in runs if r.list_requested_ms is not None],
        ),
        ("            image list arrived", [r.urls_ms for r in runs if r.urls_ms is not None]),
        ("            first file arrived", [r.first_file_ms for r in runs if r.first_file_ms is not None]),
        ("  wall clock (goto → first image)", [r.wall_ms for r in runs if r.wall_ms is not None]),
    ):
        if values:
            print(f"{label}: p50 {percentile(values, 50):.0f} ms  p95 {percentile(values, 95):.0f} ms")
    done = [r.all_loaded_ms for r in runs if r.all_loaded_ms is not None]
    if done:
        print(f"all slices loaded: p50 {percentile(done, 50):.0f} ms  p95 {percentile(done, 95):.0f} ms")
    print(f"images loaded per run: {sorted({(r.loaded, r.total) for r in runs})}")


# ---- the real workspace ------------------------------------------------------------------------------


@contextmanager
def workspace_server(
    pacs_webhook_url: str | None, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """A fresh `autoscribe serve` (SQLite in a temporary directory) with one clinic whose API key
    sends study.access_requested to the fake PACS (None: no study webhook, the images come from
    the platform's own archive). Yields (server URL, the key's answer, the environment)."""
    data_dir = Path(tempfile.mkdtemp(prefix="autoscribe-bench-"))
    port = _free_port()
    env = dict(
        os.environ,
        AUTOSCRIBE_DATA_DIR=str(data_dir),
        AUTOSCRIBE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE="1",
        AUTOSCRIBE_LOG_LEVEL="warning",
        **(extra_env or {}),
    )
    env.pop("AUTOSCRIBE_DATABASE_URL", None)
    cli = [sys.executable, "-m", "autoscribe.cli"]
    proc = None
    try:
        subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
        made = json.loads(
            subprocess.run(
                [
                    *cli,
                    "bootstrap",
                    "--clinic-name",
                    "Bench Clinic",
                    "--owner-email",
                    "owner@bench.test",
                    "--generate-password",
                    "--json",
                ],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        key = json.loads(
            subprocess.run(
                [
                    *cli,
                    "api-keys",
                    "create",
                    "--clinic-id",
                    made["clinicId"],
                    "--description",
                    "PACS",
                    "--study-scope",
                    "all",
                    "--user-access",
                    "write",
                    "--express-access",
                    "none",
                    *(["--study-webhook-url", pacs_webhook_url] if pacs_webhook_url else []),
                    "--json",
                ],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        log = (data_dir / "server.log").open("wb")
        proc = subprocess.Popen(
            [*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError((data_dir / "server.log").read_text())
            time.sleep(0.1)
        yield url, key, env
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_workspace(args: argparse.Namespace) -> None:
    from avara import Avara
    from tests.fakepacs import FakePacs, ct_series

    started = time.perf_counter()
    pacs = FakePacs.start()
    study = pacs.add_study(series=[ct_series(args.slices, args.size)], manifest=not args.no_manifest)
    megabytes = sum(len(i.data) for _, i in study.instances()) / 1e6
    try:
        with workspace_server(pacs.webhook_url) as (url, key, _env):
            pacs.secret = key["webhookSecret"]
            client = Avara(api_key=key["apiKey"], base_url=url, max_retries=0)
            radiologist = invite_reader(client)
            study_id = client.auto_scribe.studies.create(
                severity="normal",
                study_description="CT Chest",
                study_instance_uid=study.study_instance_uid,
                report_metadata={"patient_name": "Bench Patient"},
            ).study_id
            print(
                f"study: {args.slices} slices {args.size}x{args.size} 16-bit CT, {megabytes:.0f} MB, "
                f"manifest {'no' if args.no_manifest else 'yes'}; server {url} (SQLite); "
                f"set up in {time.perf_counter() - started:.1f} s"
            )

            def fresh_url() -> str:
                # Reroute URLs work once: a new one per run, as the integrator's PACS would mint.
                return client.auto_scribe.studies.reroute_url(
                    assigned_to_user_id=radiologist, study_id=study_id
                ).url

            report(measure(fresh_url, args.runs))
    finally:
        pacs.stop()


def invite_reader(client: Any) -> str:
    return str(
        client.auto_scribe.users.invite(
            can_create_reports=True,
            can_manage_studies=False,
            clinic_role="Radiologist",
            email="reader@bench.test",
            first_name="Bench",
            last_name="Reader",
            has_dashboard_access=False,
            level="member",
            npi_number="1234567893",
        ).user_id
    )


def bench_archive(args: argparse.Namespace) -> None:
    """The study in the platform's own DICOM archive (stored over STOW-RS, seeded), no integrator:
    the viewer loads /workspace/<study>/archive/<SOP UID>, transcoded from JPEG-LS on the server."""
    from avara import Avara
    from pydicom.uid import generate_uid

    from autoscribe.dicom.phantom import chest_ct
    from autoscribe.dicom.web import multipart

    started = time.perf_counter()
    study_uid = generate_uid()
    every = 1 if args.compression == "jpeg-ls" else 0
    instances = list(chest_ct(study_uid, slices=args.slices, size=args.size, compress_every=every))
    megabytes = sum(map(len, instances)) / 1e6
    with workspace_server(None, {"AUTOSCRIBE_DICOM_STUDY_IDLE_SECONDS": "0"}) as (url, key, env):
        auth = {"Authorization": f"Bearer {key['apiKey']}"}
        batch = max(1, (4 * 1024 * 1024) // max(len(instances[0]), 1))
        for start in range(0, len(instances), batch):
            body, boundary = multipart([("application/dicom", i) for i in instances[start : start + batch]])
            stored = httpx.post(
                f"{url}/dicomweb/studies",
                content=body,
                headers={
                    **auth,
                    "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
                },
            )
            if stored.status_code >= 300:
                raise RuntimeError(f"STOW-RS answered {stored.status_code}: {stored.text[:500]}")
        cli = [sys.executable, "-m", "autoscribe.cli"]
        subprocess.run([*cli, "dicom", "seed-idle"], env=env, check=True, capture_output=True)
        client = Avara(api_key=key["apiKey"], base_url=url, max_retries=0)
        radiologist = invite_reader(client)
        study_id = client.auto_scribe.studies.retrieve_by_uid(study_uid).study_id
        print(
            f"study: {args.slices} slices {args.size}x{args.size} 12-bit CT in the archive "
            f"({args.compression}, {megabytes:.0f} MB stored), no study webhook; server {url} "
            f"(SQLite); set up in {time.perf_counter() - started:.1f} s"
        )

        def fresh_url() -> str:
            return client.auto_scribe.studies.reroute_url(
                assigned_to_user_id=radiologist, study_id=study_id
            ).url

        report(measure(fresh_url, args.runs))


def bench_harness(args: argparse.Namespace) -> None:
    from tests.fakepacs import FakePacs, ct_series
    from tests.viewer.harness import Harness

    started = time.perf_counter()
    pacs = FakePacs.start()
    study = pacs.add_study(series=[ct_series(args.slices, args.size)], manifest=not args.no_manifest)
    megabytes = sum(len(i.data) for _, i in study.instances()) / 1e6
    harness = Harness(pacs).start()
    print(
        f"study: {args.slices} slices {args.size}x{args.size} 16-bit CT, {megabytes:.0f} MB, "
        f"manifest {'no' if args.no_manifest else 'yes'} (built in {time.perf_counter() - started:.1f} s); "
        "the viewer alone on the harness page"
    )
    params = {"concurrency": args.concurrency} if args.concurrency else {}
    try:
        report(measure(harness.url(study.study_instance_uid, **params), args.runs))
    finally:
        harness.stop()
        pacs.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument(
        "--concurrency", type=int, default=None, help="viewer fetch concurrency (--harness only; default 6)"
    )
    parser.add_argument("--no-manifest", action="store_true", help="answer the webhook without a manifest")
    parser.add_argument("--harness", action="store_true", help="the viewer alone on the test harness page")
    parser.add_argument("--url", help="measure this page instead")
    parser.add_argument(
        "--archive", action="store_true", help="the study in the platform's DICOM archive, no integrator"
    )
    parser.add_argument(
        "--compression",
        choices=("jpeg-ls", "none"),
        default="jpeg-ls",
        help="--archive: how the slices are stored (default JPEG-LS lossless, transcoded when served)",
    )
    args = parser.parse_args()

    if args.url:
        report(measure(args.url, args.runs))
    elif args.harness:
        bench_harness(args)
    elif args.archive:
        bench_archive(args)
    else:
        bench_workspace(args)


if __name__ == "__main__":
    main()
