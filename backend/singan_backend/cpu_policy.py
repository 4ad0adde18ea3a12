"""How many CPU threads training uses, chosen from the load other programs put on the cores.

Two OpenMP threads on two cores, one of them taken by another program (Krita painting
beside the backend), made training 10 to 40 times slower here: each parallel region waits
for the thread that shares its core, and the waiting thread spins. One thread has no one to
wait for. So the backend and the CLI (their entry points call `enable()`) look at the cores
every few seconds while training and use as many threads as the cores other programs leave
free, never more than torch's own choice on an idle machine (so no slower there than before).

Not imported by the Krita plugin: Krita's own process keeps its threads and OpenMP settings
(OMP_WAIT_POLICY set inside Krita crashed it). The backend runs in a process of its own.
This module does not import torch at load time.

Off when the user chose the threads: OMP_NUM_THREADS set, or SINGAN_CPU_POLICY=off. A thread
count that changes during a training changes the floating-point order of some kernels, so
two runs of one seed on a machine under different load can differ in their last digits.
"""

from __future__ import annotations

import os
import threading
import time

CHECK_EVERY_S = 2.0  # how often training looks at the load again
# Another program using more than this share of a core counts as taking it: a program that
# competes with our spinning threads only gets its fair share, so a core it would fill shows
# as half busy while we use two threads.
BUSY_CORE_SHARE = 0.25

_lock = threading.Lock()
_state: dict = {"enabled": False, "max_threads": None, "last": None, "checked_at": 0.0}


def enable() -> None:
    """Adapt the training threads to the load from now on (backend and CLI processes)."""
    if os.environ.get("SINGAN_CPU_POLICY", "").lower() == "off" or "OMP_NUM_THREADS" in os.environ:
        return
    if _read_ticks() is None:  # no /proc (macOS, Windows): torch's own choice stays
        return
    _state["enabled"] = True


def is_enabled() -> bool:
    return _state["enabled"]


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _read_ticks() -> tuple[int, int, int] | None:
    """(busy ticks of all cores, all ticks of all cores, this process's ticks), or None."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # user..steal; guest time is already inside user
    own = int(fields[11]) + int(fields[12])  # utime + stime, every thread of this process
    return total - idle, total, own


def others_busy_cores(before: tuple[int, int, int], after: tuple[int, int, int],
                      ncores: int) -> float:
    """Cores' worth of CPU time that other processes used between two readings."""
    busy, total, own = (a - b for a, b in zip(after, before))
    if total <= 0:
        return 0.0
    return max(0.0, (busy - own) / total * ncores)


def threads_for(others: float, ncores: int, max_threads: int) -> int:
    """Threads to use when other programs keep `others` cores busy: the free cores."""
    taken = int(others + 1 - BUSY_CORE_SHARE) if others > BUSY_CORE_SHARE else 0
    return max(1, min(max_threads, ncores - taken))


def adapt(force: bool = False) -> int | None:
    """When enabled and CHECK_EVERY_S has passed (or `force`): set torch's threads for the
    calling thread from the load since the last look; returns the count set, or None."""
    if not _state["enabled"]:
        return None
    import torch  # the backend's and CLI's torch, loaded long before training

    now = time.monotonic()
    with _lock:
        if not force and now - _state["checked_at"] < CHECK_EVERY_S:
            return None
        if _state["max_threads"] is None:
            _state["max_threads"] = torch.get_num_threads()  # torch's idle-machine choice
        last = _state["last"]
        if last is None or now - _state["checked_at"] > 10 * CHECK_EVERY_S:
            last = _read_ticks()  # no recent reading: look over a short window now
            time.sleep(0.2)
        reading = _read_ticks()
        _state.update(last=reading, checked_at=now)
    if last is None or reading is None:
        return None
    ncores = cores()
    threads = threads_for(others_busy_cores(last, reading, ncores), ncores,
                          _state["max_threads"])
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return threads
