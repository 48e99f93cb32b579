"""Who used the machine's cores while a tool measured, for the benchmark and the load test alike.

On one shared machine the browsers, a training child and other people's work compete with the server
for the same cores, so a slow number means little until it says whose CPU time it lost to.
"""
from __future__ import annotations

import os
import threading

import psutil

GROUPS = ("server", "training", "browsers", "tool", "others")


def _seconds(times) -> float:
    return times.user + times.system


def machine_busy() -> float:
    """CPU seconds all cores have spent busy since boot (everything but idle and I/O wait)."""
    times = psutil.cpu_times()._asdict()  # on Linux "guest" time is already counted in "user"
    return sum(times.get(name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal"))


def _is_browser(proc) -> bool:
    """Chromium's processes and Playwright's driver (a node process)."""
    try:
        return any(part in proc.name().lower() for part in ("chrom", "node", "playwright"))
    except psutil.Error:
        return False


class ProcessWatch:
    """CPU time (user + system, seconds) per group, sampled twice a second in a thread until `stop()`:
    the server, its children (a training run), this tool's browsers (Chromium and Playwright's
    driver), this tool with its other children (bare servers, a training run of its own), and
    everything else on the machine ("others": the machine's busy time less the other groups'). A
    process that ends keeps its last reading, so a training child that exits between samples moves at
    most half a second of its time to "others". `peak` is the server's
    largest resident set, in bytes."""

    def __init__(self, server_pid: int | None):
        self.peak = 0
        self.cpu = dict.fromkeys(GROUPS, 0.0)
        self._server = psutil.Process(server_pid) if server_pid else None
        self._seen: dict[tuple[str, int], float] = {}
        self._start = self._totals()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _totals(self) -> dict[str, float]:
        """Accumulated CPU seconds per group."""
        me = psutil.Process(os.getpid())
        groups: dict[str, list] = {"browsers": [], "tool": [me]}
        server_family = set()
        if self._server:
            groups["server"] = [self._server]
            groups["training"] = self._server.children(recursive=True)
            server_family = {p.pid for p in [self._server, *groups["training"]]}
        for proc in me.children(recursive=True):
            if proc.pid not in server_family:
                groups["browsers" if _is_browser(proc) else "tool"].append(proc)
        for group, procs in groups.items():
            for proc in procs:
                try:
                    self._seen[group, proc.pid] = _seconds(proc.cpu_times())
                except psutil.Error:
                    pass
        totals = {g: sum(v for (group, _), v in self._seen.items() if group == g) for g in GROUPS[:-1]}
        return {**totals, "others": machine_busy() - sum(totals.values())}

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                if self._server:
                    self.peak = max(self.peak, self._server.memory_info().rss)
                self._totals()
            except psutil.Error:
                pass

    def stop(self) -> dict[str, float]:
        """Stop sampling; `cpu` (and the return value) is each group's CPU seconds since the start."""
        self._stop.set()
        self._thread.join()
        end = self._totals()
        self.cpu = {g: max(0.0, end[g] - self._start[g]) for g in GROUPS}
        return self.cpu
