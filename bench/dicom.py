"""C-STORE throughput of `autoscribe dicom serve` against DCMTK's `storescp` as the reference.

Both receive the same 300-slice 512x512 16-bit CT (pydicom-generated, optionally half of it
JPEG-LS lossless) from the same sender, DCMTK's `storescu`, over loopback on this machine:

- reference: `storescp` writing each instance to a directory as received (`-od`, `+B`, 128 KB PDUs);
- AutoScribe: a fresh data directory, SQLite, the local storage backend, one clinic with an AE
  title; each instance is parsed, written to storage and indexed before the C-STORE response.

Each run is one association carrying the whole series (storescu's default, sending 128 KB PDUs;
the time includes storescu's start; both DCMTK tools run with TCP_NODELAY=1, see DCMTK_ENV).
Figures: instances/s and MB/s of DICOM data sent (file sizes), median of the runs, and the best.

    .venv/bin/python bench/dicom.py [--slices 300] [--size 512] [--runs 3] [--jpeg-ls]
    .venv/bin/python bench/dicom.py --first-image [--slices 300] [--size 512] [--runs 5]

--first-image: the other figure of the DICOM edge, time to the first image drawn in Chromium for
an archived JPEG-LS CT opened from a reading link (bench/viewer.py --archive does the work).
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
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.dicom.data import ct_series

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"receiver exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


# DCMTK leaves Nagle's algorithm on unless told otherwise: every C-STORE then waits for a delayed
# ACK (~40 ms). Both DCMTK tools get TCP_NODELAY=1, so that the reference is not that stall.
DCMTK_ENV = dict(os.environ, TCP_NODELAY="1")


def send(port: int, called: str, files: list[Path]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [
            "storescu",
            "-xt",
            "--max-send-pdu",
            "131072",
            "-aec",
            called,
            "127.0.0.1",
            str(port),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        env=DCMTK_ENV,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"storescu failed: {done.stderr[-2000:]}")
    return elapsed


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_storescp(work: Path, files: list[Path], runs: int) -> list[float]:
    out = work / "storescp"
    port = free_port()
    times = []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        proc = subprocess.Popen(
            # 128 KB PDUs like ours; bit-preserving: the data set written as received, like ours.
            [
                "storescp",
                "-od",
                str(out),
                "+xa",
                "-pdu",
                "131072",
                "+B",
                "-dhl",
                "-aet",
                "STORESCP",
                str(port),
            ],
            env=DCMTK_ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, proc)
            times.append(send(port, "STORESCP", files))
        finally:
            stop(proc)
        assert len(list(out.iterdir())) == len(files), "storescp did not write every instance"
    return times


def run_autoscribe(work: Path, files: list[Path], runs: int) -> list[float]:
    times = []
    for run in range(runs):
        data = work / f"autoscribe-{run}"
        env = dict(
            os.environ,
            AUTOSCRIBE_DATA_DIR=str(data),
            AUTOSCRIBE_SECRET_KEY="bench-" + "x" * 40,
            AUTOSCRIBE_DICOM_STUDY_IDLE_SECONDS="3600",  # measure storing, not seeding
            AUTOSCRIBE_LOG_LEVEL="warning",
        )
        env.pop("AUTOSCRIBE_DATABASE_URL", None)
        cli = str(VENV_BIN / "autoscribe")
        subprocess.run([cli, "migrate"], env=env, check=True, capture_output=True)
        boot = subprocess.run(
            [
                cli,
                "bootstrap",
                "--clinic-name",
                "Bench",
                "--owner-email",
                "o@bench.test",
                "--generate-password",
                "--json",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        clinic = json.loads(boot.stdout)["clinicId"]
        subprocess.run(
            [cli, "clinics", "update", "--clinic-id", clinic, "--ae-title", "BENCH"],
            env=env,
            check=True,
            capture_output=True,
        )
        port = free_port()
        proc = subprocess.Popen(
            [cli, "dicom", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, proc)
            times.append(send(port, "BENCH", files))
        finally:
            stop(proc)
        stored = subprocess.run(
            ["sqlite3", str(data / "autoscribe.db"), "select count(*) from dicom_instances"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if stored and int(stored) != len(files):
            raise SystemExit(f"AutoScribe indexed {stored} of {len(files)} instances")
    return times


def report(name: str, times: list[float], count: int, megabytes: float) -> None:
    med = statistics.median(times)
    best = min(times)
    print(
        f"{name:<22} {count / med:8.1f} inst/s  {megabytes / med:8.1f} MB/s   "
        f"(median of {len(times)}: {med:.2f} s; best {count / best:.1f} inst/s, {megabytes / best:.1f} MB/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jpeg-ls", action="store_true", help="every second slice JPEG-LS lossless")
    parser.add_argument(
        "--first-image", action="store_true", help="first image of an archived JPEG-LS CT in the browser"
    )
    args = parser.parse_args()
    if args.first_image:
        from bench.viewer import bench_archive

        bench_archive(
            argparse.Namespace(slices=args.slices, size=args.size, runs=args.runs, compression="jpeg-ls")
        )
        return
    for tool in ("storescu", "storescp", "dcmcjpls"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} missing: apt-get install dcmtk")
    work = Path(tempfile.mkdtemp(prefix="bench-dicom-"))
    try:
        series = ct_series(
            work / "ct",
            args.slices,
            jpeg_ls_every=2 if args.jpeg_ls else 0,
            rows=args.size,
            columns=args.size,
        )
        files = series.paths
        megabytes = sum(p.stat().st_size for p in files) / 1e6
        print(
            f"{len(files)} CT slices {args.size}x{args.size}, {megabytes:.1f} MB"
            f"{' (half JPEG-LS)' if args.jpeg_ls else ''}; storescu over loopback, one association"
        )
        runners: list[tuple[str, Callable[[Path, list[Path], int], list[float]]]] = [
            ("DCMTK storescp", run_storescp),
            ("autoscribe dicom serve", run_autoscribe),
        ]
        for name, runner in runners:
            report(name, runner(work, files, args.runs), len(files), megabytes)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
