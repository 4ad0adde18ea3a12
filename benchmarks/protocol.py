"""Round trip of an RGBA u8 image client -> backend -> client through the real protocol.

    python benchmarks/protocol.py [--repeat 5] [--sizes 256,4096]

Starts `singan-backend serve` on loopback with a temporary models folder, sends each image
with the hidden `echo` request (the backend verifies it, then signs and sends the same frames
back) and prints a table. Target: under 0.5 s for 4096 x 4096. The memory columns show how
many copies of the pixels each process held at its peak (peak RSS growth / image size): the
client keeps its source image plus the received frame, the backend only the received frame.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from singan_protocol import Client, ImagePayload, Signer, read_connection_file


def start_backend(root: Path) -> tuple[subprocess.Popen, Path]:
    conn = root / "backend.json"
    proc = subprocess.Popen([sys.executable, "-m", "singan_backend.server", "serve",
                             "--models-dir", str(root / "models"), "--connection-file", str(conn),
                             "--log-level", "WARNING"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if read_connection_file(conn).pid == proc.pid:
                return proc, conn
        except (FileNotFoundError, ValueError):
            pass
        if proc.poll() is not None:
            sys.exit(f"the backend exited with {proc.returncode}")
        time.sleep(0.1)
    proc.kill()
    sys.exit("the backend did not start within 120 s")


def peak_rss_mib(pid: int | None = None) -> float:
    """Peak resident memory: our own via getrusage, another process's via /proc (Linux)."""
    if pid is None:
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def image(side: int) -> ImagePayload:
    n = side * side * 4
    pattern = bytes(range(256))
    return ImagePayload.of(side, side, "RGBA", "u8", pattern * (n // 256) + pattern[: n % 256])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="round trips per size (median shown)")
    ap.add_argument("--sizes", default="256,4096", help="square sides in px, comma separated")
    args = ap.parse_args()
    sides = [int(s) for s in args.sizes.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        proc, conn = start_backend(Path(tmp))
        client = Client(read_connection_file(conn))
        try:
            client.hello("benchmark")
            rows = []
            for side in sorted(sides):  # small first, so peak RSS growth belongs to the large
                img = image(side)
                mib = img.nbytes / 2**20
                rss_client, rss_backend = peak_rss_mib(), peak_rss_mib(proc.pid)
                times = []
                for i in range(args.repeat + 1):  # the first round trip warms up
                    t = time.perf_counter()
                    reply = client.call("echo", {}, [img], timeout_s=60)
                    dt = time.perf_counter() - t
                    assert reply.images[0].nbytes == img.nbytes
                    del reply  # drop the received frame before the next round trip
                    if i:
                        times.append(dt)
                t = time.perf_counter()
                Signer("k" * 64).sign([img.data])
                hmac_s = time.perf_counter() - t
                grow_c = (peak_rss_mib() - rss_client) / mib
                grow_b = (peak_rss_mib(proc.pid) - rss_backend) / mib
                rows.append((f"{side} x {side}", mib, statistics.median(times), min(times),
                             2 * mib / statistics.median(times), hmac_s, grow_c, grow_b))
        finally:
            client.call("shutdown")
            client.close()
            proc.wait(30)

    print(f"\nprotocol round trip (echo), RGBA u8, median of {args.repeat}, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'image':>13} {'MiB':>6} {'median s':>9} {'min s':>7} {'MiB/s':>7} "
          f"{'1 HMAC s':>9} {'client +copies':>14} {'backend copies':>15}")
    for name, mib, med, best, rate, hmac_s, gc, gb in rows:
        print(f"{name:>13} {mib:6.1f} {med:9.4f} {best:7.4f} {rate:7.0f} {hmac_s:9.4f} "
              f"{gc:14.1f} {gb:15.1f}")
    print("(MiB/s counts both directions; a round trip computes 4 HMACs over the pixels: sign "
          "and verify on each side. Copies = peak RSS growth during the round trips / image "
          "size; the client's source image is not counted (so it holds 1 + that). Below 1 MiB "
          "the copy columns are allocator noise.)")


if __name__ == "__main__":
    main()
