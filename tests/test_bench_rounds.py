"""The load rounds of the benchmark: distinct mixes never repeat a request across rounds (the
response cache would answer it), the reported round is the median one, and a load run waits
for the threads earlier runs left in the server."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.run import (
    Request,
    Server,
    Settings,
    SizeResult,
    markdown,
    median_latency_round,
    median_round,
    round_requests,
    settle,
    throughput_requests,
    warm_up,
)


def test_each_round_of_a_distinct_mix_asks_new_requests() -> None:
    requests = [Request(f"/sparql?query=q{i}", "text/csv") for i in range(9)]
    rounds = [round_requests(requests, index, 3) for index in range(3)]
    assert [len(part) for part in rounds] == [3, 3, 3]
    paths = [request.path for part in rounds for request in part]
    assert len(set(paths)) == 9


def test_a_repeated_mix_asks_its_one_request_every_round() -> None:
    only = [Request("/sparql?query=q", "text/csv")]
    assert all(round_requests(only, index, 2000) == only for index in range(3))


def test_the_median_round_is_reported_with_the_range_and_all_errors() -> None:
    runs = [
        {"rps": 900.0, "p50_ms": 3.0, "p99_ms": 9.0, "errors": 1, "first_error": ["HTTP 503"],
         "server_cpu_us": 700.0},
        {"rps": 1200.0, "p50_ms": 1.0, "p99_ms": 4.0, "errors": 0, "first_error": [],
         "server_cpu_us": 500.0},
        {"rps": 1000.0, "p50_ms": 2.0, "p99_ms": 6.0, "errors": 0, "first_error": [],
         "server_cpu_us": 600.0},
    ]
    figures = median_round(runs)
    assert (figures["rps"], figures["p50_ms"], figures["server_cpu_us"]) == (1000.0, 2.0, 600.0)
    assert (figures["rps_min"], figures["rps_max"]) == (900.0, 1200.0)
    assert figures["rps_runs"] == [900.0, 1200.0, 1000.0]
    assert figures["errors"] == 1 and figures["first_error"] == ["HTTP 503"]


def test_the_median_latency_round_is_reported_with_every_round() -> None:
    rounds = [
        {"status": 200, "rows": 16, "bytes": 2453, "median_ms": 0.2, "runs": 201,
         "uncached_median_ms": 0.40, "uncached_runs": 201},
        {"status": 503, "rows": 16, "bytes": 2453, "median_ms": 0.3, "runs": 7,
         "uncached_median_ms": 0.31, "uncached_runs": 150},
        {"status": 200, "rows": 16, "bytes": 2453, "median_ms": 0.1, "runs": 201,
         "uncached_median_ms": 0.33, "uncached_runs": 190},
    ]
    figures = median_latency_round(rounds)
    assert (figures["median_ms"], figures["uncached_median_ms"]) == (0.2, 0.33)
    assert figures["uncached_rounds_ms"] == [0.40, 0.31, 0.33]
    assert (figures["runs"], figures["uncached_runs"]) == (409, 541)
    assert figures["status"] == 503 and figures["rows"] == 16


def test_the_run_over_one_connection_asks_pages_no_load_round_asked() -> None:
    settings = Settings(max_requests=5, load_rounds=3)
    entities = [f"thing/t{i}" for i in range(100)]
    server = Server("ezgraph", None, 0, "/sparql")  # type: ignore[arg-type]  # not started
    for mix in ("cheap distinct", "entity distinct"):
        requests = throughput_requests(server, entities, settings)[mix]
        rounds = {r.path for index in range(3) for r in round_requests(requests, index, 5)}
        alone = {r.path for r in round_requests(requests, 3, 5)}
        assert len(rounds) == 15 and len(alone) == 5 and not rounds & alone


def test_the_report_sets_each_request_alone_beside_oxigraph() -> None:
    result = SizeResult("1m")
    result.one_at_a_time = {"cheap distinct": {
        "ezgraph": {"rps": 1650.0, "p50_ms": 0.6, "server_cpu_us": 520.0, "errors": 0},
        "oxigraph": {"rps": 3700.0, "p50_ms": 0.27, "server_cpu_us": 208.0, "errors": 0}}}
    result.floor = {"rps": 9000.0, "one_at_a_time": {
        "rps": 4500.0, "p50_ms": 0.22, "server_cpu_us": 150.0, "errors": 0}}
    info = {"nproc": 2, "cpu": "test", "ram_gb": 1, "python": "3", "ezgraph": "0",
            "oxigraph_server": "oxigraph 0", "libraries": {}}
    report = markdown([result], info, Settings())
    section = report.split("## One request at a time", 1)[1].split("\n## ", 1)[0]
    assert ("| 1m | cheap distinct | 1650.0 | 0.60 | 3700.0 | 0.27 | 520 / 208 | 2.50 | 0 / 0 |"
            in section)
    assert "| 1m | web tier floor (`/health`) | 4500.0 | 0.22 | – | – | 150 / – | – | 0 / – |" \
        in section


def test_the_throughput_table_shows_the_whole_run_and_the_clients_cpu() -> None:
    result = SizeResult("1m")
    result.throughput = {"entity distinct": {
        "ezgraph": {"rps": 7400.0, "rps_min": 7000.0, "rps_max": 8000.0, "p50_ms": 0.6,
                    "p99_ms": 2.8, "rps_whole_run": 6900.0, "server_cpu_us": 160.0,
                    "client_cpu_us": 70.0, "errors": 0},
        "oxigraph": {"rps": 7100.0, "rps_min": 6900.0, "rps_max": 7400.0, "p50_ms": 0.7,
                     "p99_ms": 4.1, "rps_whole_run": 7050.0, "server_cpu_us": 225.0,
                     "client_cpu_us": 49.0, "errors": 0}}}
    info = {"nproc": 2, "cpu": "test", "ram_gb": 1, "python": "3", "ezgraph": "0",
            "oxigraph_server": "oxigraph 0", "libraries": {}}
    report = markdown([result], info, Settings())
    section = report.split("## Throughput at concurrency", 1)[1].split("\n## ", 1)[0]
    assert "client CPU µs/req (ez / ox)" in section
    assert "| 1.04 | 6900 / 7050 | 160 / 225 | 70 / 49 | 0 / 0 |" in section


@contextlib.contextmanager
def _server_running(code: str) -> Iterator[Server]:
    """A Python process running ``code``, seen as a server by the benchmark."""
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        yield Server("test", process, 0, "/sparql")
    finally:
        process.kill()
        process.wait()


def _wait_until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_server_cpu_counts_the_children_the_server_has_reaped(tmp_path: Path) -> None:
    # A parent that sleeps while its child burns 0.5 s of CPU, then reaps it and says so: once
    # the child is gone its time is only in the parent's cutime, and it is the server's too.
    # /proc counts in clock ticks, which can fall a tick or two short of process_time(), so the
    # bar sits under 0.5 s but far above what the sleeping parent costs alone.
    reaped = tmp_path / "reaped"
    burn = "import time; end = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    with _server_running(f"import pathlib, subprocess, sys, time; "
                         f"subprocess.run([sys.executable, '-c', {burn!r}]); "
                         f"pathlib.Path({str(reaped)!r}).touch(); time.sleep(30)"
                         ) as server:
        _wait_until(reaped.exists)
        assert server.pids() == [server.process.pid]
        assert server.cpu_seconds() >= 0.4


def test_settle_waits_until_the_server_has_let_its_threads_go() -> None:
    # Like Oxigraph's server with --timeout-s: 200 threads that outlive their requests by 1 s.
    lingering = ("import threading, time\n"
                 "threads = [threading.Thread(target=time.sleep, args=(1,)) for _ in range(200)]\n"
                 "[t.start() for t in threads]; [t.join() for t in threads]; time.sleep(30)")
    with _server_running(lingering) as server:
        _wait_until(lambda: server.threads() >= 100)
        assert server.threads() >= 100
        waited = settle(server, ceiling=50)
        assert waited > 0.2
        assert server.threads() < 50


def test_warm_up_waits_until_the_server_is_idle_after_its_start_up_work() -> None:
    # Busy for its first 1.5 s (a copy of the store loading), idle after.
    busy = "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass\ntime.sleep(60)"
    with _server_running(busy) as server:
        server.started_at = time.perf_counter()
        warm = warm_up(server, timeout=20)
    assert 1.5 <= warm < 10


def test_server_memory_counts_shared_pages_once() -> None:
    # A parent and a forked child that share 200 MB, untouched since the fork.
    code = ("import os, time\nblock = bytearray(200 * 2**20)\nparent = os.getpid()\n"
            "if os.fork() == 0:\n"
            "    while os.getppid() == parent:  # the child leaves with its parent\n"
            "        time.sleep(0.05)\n"
            "else:\n    time.sleep(60)")
    with _server_running(code) as server:
        _wait_until(lambda: server.processes() == 2 and server.rss_mb() > 400)
        rss, pss = server.rss_mb(), server.pss_mb()
    assert rss > 400  # both processes map the block
    assert 200 <= pss < rss - 150  # counted once
