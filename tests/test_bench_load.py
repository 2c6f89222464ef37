"""The benchmark's two load clients (wrk through bench/pages.lua, and Python threads) against a
real HTTP server: both follow the 303 of an entity page, count pages rather than HTTP exchanges,
count failures as errors, and stop at the run's request limit."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import bench.run as bench_run
from bench.run import ConnectionRun, Request, Server, Settings, busy_figures, free_port, load

#: /id/N answers 303 to /doc/N, /doc/N 200, /slow/N 200 after 30 ms, /broken 500; every
#: exchange is logged.
SERVER = """
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body would wait for
    # the client's delayed ACK of the headers, 40 ms a page.
    disable_nagle_algorithm = True

    def do_GET(self):
        with LOG:
            sys.stderr.write(f"{self.path} {self.headers.get('Accept')}\\n")
            sys.stderr.flush()
        if self.path.startswith("/id/"):
            self.send_response(303)
            self.send_header("Location", "http://127.0.0.1:%d/doc/" % PORT + self.path[4:])
            body = b""
        elif self.path.startswith(("/doc/", "/slow/")):
            if self.path.startswith("/slow/"):
                time.sleep(0.03)
            self.send_response(200)
            body = b"<a> <b> <c> .\\n"
        else:
            self.send_response(500)
            body = b"broken"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

PORT = int(sys.argv[1])
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
"""

CLIENTS = ["python", pytest.param("wrk", marks=pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (make test installs it)"))]


@contextlib.contextmanager
def _pages_server(log_path) -> Iterator[Server]:
    port = free_port()
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/doc/up", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield Server("test", process, port, "/sparql")
    finally:
        process.kill()
        process.wait()


def _settings(client: str, requests: int) -> Settings:
    return dataclasses.replace(Settings(), client=client, concurrency=4, max_requests=requests,
                               max_seconds=20)


@pytest.mark.parametrize("client", CLIENTS)
def test_entity_pages_follow_the_redirect_and_count_once(client: str, tmp_path) -> None:
    log = tmp_path / "server.log"
    requests = [Request(f"/id/e{i}", "text/turtle") for i in range(40)]
    with _pages_server(log) as server:
        figures = load(server, requests, _settings(client, 40))
    assert figures["client"] == client
    assert (figures["requests"], figures["errors"]) == (40, 0)
    assert figures["rps"] > 0 and 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert figures["server_cpu_us"] is not None
    # The client's own CPU (wrk, or this process's threads) cannot be nothing: it made 80
    # HTTP exchanges.
    assert figures["client_cpu_us"] > 0
    lines = log.read_text().splitlines()[1:]  # after the start-up probe
    # Every distinct page asked once, each by its 303 and the document, with the page's Accept.
    assert sorted(line for line in lines if line.startswith("/id/")) == sorted(
        f"/id/e{i} text/turtle" for i in range(40))
    assert sorted(line for line in lines if line.startswith("/doc/")) == sorted(
        f"/doc/e{i} text/turtle" for i in range(40))


@pytest.mark.parametrize("client", CLIENTS)
def test_failed_pages_are_errors_and_a_single_request_is_repeated(client: str, tmp_path) -> None:
    with _pages_server(tmp_path / "server.log") as server:
        figures = load(server, [Request("/broken", "text/csv")], _settings(client, 20))
    assert (figures["requests"], figures["errors"]) == (0, 20)
    assert figures["rps"] == 0 and figures["p50_ms"] is None


def test_the_web_floor_is_timed_and_loaded_like_the_queries_and_failures_show(
    tmp_path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = dataclasses.replace(_settings("python", 30), repeats=5, max_repeats=5,
                                   load_rounds=2)
    with _pages_server(tmp_path / "server.log") as server:
        monkeypatch.setattr(bench_run, "FLOOR_REQUEST", Request("/doc/floor", "text/plain"))
        floor = bench_run.web_floor(server, settings)
        monkeypatch.setattr(bench_run, "FLOOR_REQUEST", Request("/broken", "text/plain"))
        broken = bench_run.web_floor(server, settings)
    lines = (tmp_path / "server.log").read_text().splitlines()
    # A warm-up, 5 timed runs, 2 load rounds of 30 requests, then 30 over one connection, for
    # each floor.
    assert lines.count("/doc/floor text/plain") == 1 + 5 + 2 * 30 + 30
    assert floor["status"] is None and floor["median_ms"] > 0
    assert (floor["rounds"], floor["requests"], floor["errors"]) == (2, 30, 0)
    assert (floor["one_at_a_time"]["requests"], floor["one_at_a_time"]["errors"]) == (30, 0)
    assert broken["status"] == 500 and broken["errors"] == 2 * 30
    assert broken["one_at_a_time"]["errors"] == 30


@pytest.mark.parametrize("client", CLIENTS)
def test_one_at_a_time_asks_each_page_after_the_one_before_is_answered(
    client: str, tmp_path,
) -> None:
    log = tmp_path / "server.log"
    requests = [Request(f"/id/e{i}", "text/turtle") for i in range(12)]
    with _pages_server(log) as server:
        figures = bench_run.one_at_a_time(server, requests, _settings(client, 12))
    assert (figures["requests"], figures["errors"]) == (12, 0)
    assert figures["server_cpu_us"] is not None
    lines = log.read_text().splitlines()[1:]  # after the start-up probe
    # One connection: every 303 is followed by its document before the next page is asked
    # (at the settings' concurrency of 4, four pages would be under way at once). wrk starts
    # one page further on (it calls request() once to check the script), so the order of the
    # pages is not checked, only that each is asked once.
    pages = [(lines[i], lines[i + 1]) for i in range(0, len(lines), 2)]
    assert all(first.replace("/id/", "/doc/", 1) == then for first, then in pages)
    assert sorted(first for first, _ in pages) == sorted(
        f"/id/e{i} text/turtle" for i in range(12))


def test_throughput_is_taken_while_every_connection_is_asking() -> None:
    # One connection asks from 10 s and answers 200 pages a second until 11 s; the other
    # starts at 10.2 s and answers 100 a second until 13 s. While both ask (10.2-11 s): 160
    # + 80 pages; over the whole run, 200 + 280 pages in 3 s.
    fast = ConnectionRun(first=10.0, last=11.0, ends=[10 + i / 200 for i in range(1, 201)],
                         latencies=[0.005] * 200)
    slow = ConnectionRun(first=10.2, last=13.0, ends=[10.2 + i / 100 for i in range(1, 281)],
                         latencies=[0.010] * 280)
    figures = busy_figures([fast, slow], ok=480)
    assert figures["seconds"] == pytest.approx(0.8)
    assert figures["rps"] == pytest.approx(240 / 0.8)
    assert figures["whole_run_seconds"] == 3.0 and figures["rps_whole_run"] == 480 / 3
    # p50 and p99 over the window's 240 latencies: 160 of 5 ms, 80 of 10 ms.
    assert (figures["p50_ms"], figures["p99_ms"]) == (5.0, 10.0)


def test_without_a_time_when_all_asked_the_whole_run_counts() -> None:
    early = ConnectionRun(first=10.0, last=10.5, ends=[10.25, 10.5], latencies=[0.25, 0.25])
    late = ConnectionRun(first=10.6, last=11.0, ends=[10.8, 11.0], latencies=[0.2, 0.2])
    figures = busy_figures([early, late], ok=4)
    assert figures["seconds"] == 1.0 and figures["rps"] == 4.0 == figures["rps_whole_run"]
    assert busy_figures([], ok=0)["rps"] == 0.0


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make test "
                    "installs it)")
def test_a_connection_with_a_slow_share_does_not_stretch_the_throughput(tmp_path) -> None:
    # wrk's first connection gets every slow page (lines 0, 4, 8, ...): the other three are
    # done long before it, and the run then has one connection, not four.
    requests = [Request(f"/slow/s{i}" if i % 4 == 0 else f"/doc/d{i}", "text/turtle")
                for i in range(40)]
    with _pages_server(tmp_path / "server.log") as server:
        figures = load(server, requests, _settings("wrk", 40))
    assert (figures["requests"], figures["errors"]) == (40, 0)
    assert figures["whole_run_seconds"] >= 10 * 0.03
    assert figures["seconds"] < figures["whole_run_seconds"] / 3
    assert figures["rps"] > 3 * figures["rps_whole_run"]



#: A server's master that ignores SIGTERM, and a web process of it that does too.
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                          "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


def running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status  # a zombie has ended, awaiting its reaping


@pytest.mark.slow
def test_a_server_that_ignores_sigterm_is_killed_with_its_whole_session() -> None:
    # Killing only the master would leave its web processes serving.
    process = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    assert process.stdout is not None
    child = int(process.stdout.readline())
    assert running(child)
    Server("stubborn", process, free_port(), "/sparql").stop()
    assert process.returncode is not None
    deadline = time.monotonic() + 10
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(child)
