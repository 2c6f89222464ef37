"""The benchmarks of "Fast at every size": build, query latency, throughput, memory, start-up.

``python -m bench.run [--sizes 10k,100k,1m] [--quick]`` (``make bench``) generates synthetic data
of each size (bench/generate.py), builds it in a child process, serves it with ``ezgraph serve``
and with Oxigraph's own server loaded with the same quads, and measures

(a) the build: wall time per stage (BuildResult.timings) and the peak RSS of the child
    and the processes it starts;
(b) /sparql latency: median of repeated runs of each query in bench/queries/, both servers,
    their runs interleaved;
(c) HTTP throughput and p50/p99 latency at concurrency 8 (threads, keep-alive connections), taken
    while every connection is asking (:func:`busy_figures`), for a cheap query, an aggregate
    and an entity page, each "repeated" and "distinct";
(d) the RSS of each server (with its worker processes) after the runs, and start-up time.

Results go to bench/results/latest.md and latest.json. Every load loop is bounded in requests
and seconds, talks only to 127.0.0.1, and every server started is stopped in a finally block.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import http.client
import json
import math
import os
import platform
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.generate import (
    ONTOLOGY_DIR,
    ROOT,
    SHAPES_DIR,
    parse_size,
    read_vocabulary,
    write,
    zones_for,
)

BENCH = ROOT / "bench"
QUERIES = BENCH / "queries"
WORK = BENCH / "work"
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.executable).parent
BASE = "https://w3id.org/ezgraph/"
JSON_RESULTS = "application/sparql-results+json"

#: Seconds either server lets a query run: ezgraph's default, about eight times the slowest
#: benchmark query at 1M (Oxigraph's filter-year, 1.3 s).
QUERY_TIMEOUT = 10
#: Threads a server may hold before a load run starts (see :func:`settle`).
THREAD_CEILING = 8000

LATENCY_QUERIES = ("iri-lookup", "count-by-class", "filter-year", "sum-by-province",
                   "three-way-join", "optional-regex")

#: Targets of the issue, checked at 1M triples.
TARGETS = {
    "latency": "every query median on ezgraph ≤ Oxigraph's",
    "throughput_repeated": "throughput ≥ Oxigraph's for repeated queries and entity pages",
    "throughput_distinct": "throughput ≥ 0.5× Oxigraph's for distinct queries",
    "build_time": "full build incl. SHACL ≤ 60 s",
    "build_memory": "full build peak RSS ≤ 1.5 GB",
    "startup": "server answering within 2 s of start",
}


@dataclass(frozen=True)
class Settings:
    #: Latency runs per query and mode: at least ``repeats``, then more while they take less
    #: than ``latency_seconds`` in all, up to ``max_repeats`` (a median of 7 sub-millisecond
    #: runs moved by ±50 % between runs of the benchmark).
    repeats: int = 7
    max_repeats: int = 201
    latency_seconds: float = 1.0
    #: Each query is measured in ``latency_rounds`` rounds, each interleaving the servers' runs
    #: (:func:`interleaved_latency`), the first server changing each round; the median round
    #: is reported. Measured once per server, ezgraph always first, the IRI lookup came out at
    #: ×1.17 (10:28 run of 2026-11-24) for code that measured ×1.01–1.05 over nine rounds in
    #: turn that day; in rounds of one server after the other, a slow spell of the machine fell
    #: on whichever server ran then.
    latency_rounds: int = 3
    concurrency: int = 8
    #: Requests and seconds one load run may take; each mix runs ``load_rounds`` times per
    #: server, the servers taking turns, and the median round is reported (single runs of
    #: 800 requests moved by ±20 % from one benchmark to the next).
    max_requests: int = 2000
    max_seconds: float = 10.0
    load_rounds: int = 3
    build_timeout: float = 600.0
    server_timeout: float = 120.0
    #: The load client: "wrk" (C, event-driven: its own cost per request is small beside a
    #: server's) or "python" (threads with http.client, when wrk is not installed; their cost
    #: per request is several times Oxigraph's, on the same two CPUs, which flattered the
    #: slower server: see bench/README.md).
    client: str = "python"
    #: ezgraph reads in-memory copies of its store once loaded (``EZGRAPH_IN_MEMORY=1``), as
    #: the README recommends when the memory is there; ``False`` serves from disk only.
    in_memory: bool = True

    @property
    def distinct_requests(self) -> int:
        """Requests a distinct mix asks in all: a slice per load round, and one more for the
        run over one connection (:func:`one_at_a_time`)."""
        return self.max_requests * (self.load_rounds + 1)


QUICK = Settings(repeats=3, max_repeats=3, max_requests=120, max_seconds=4.0, load_rounds=1,
                 latency_rounds=1, build_timeout=300.0)


# -- machine ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as info:
        total_kb = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
    versions = {}
    for name in ("pyoxigraph", "rdflib", "pyshacl", "flask", "pyuwsgi", "granian", "gunicorn",
                 "pyyaml"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing package is reported, not fatal
            versions[name] = "not installed"
    try:
        oxigraph = subprocess.run([str(VENV_BIN / "oxigraph"), "--version"], capture_output=True,
                                  text=True, timeout=10).stdout.strip()
    except OSError:
        oxigraph = "not installed"
    from ezgraph import __version__

    return {"nproc": os.cpu_count(), "ram_gb": round(total_kb / 1024 / 1024, 1), "cpu": cpu,
            "python": platform.python_version(), "platform": platform.platform(),
            "ezgraph": __version__, "oxigraph_server": oxigraph, "libraries": versions}


# -- (a) the build ------------------------------------------------------------------------------

_BUILD_CHILD = """
import json, resource, sys, time
from pathlib import Path
from ezgraph.publish.build import BuildConfig, build
data, ontology, shapes, out = (Path(a) for a in sys.argv[1:5])
if sys.argv[5] == "no-shacl":
    # Only to get a publish directory to serve when the full build is out of reach: the
    # validate stage is replaced by an empty conforming outcome, and reported as such.
    import ezgraph.publish.build as build_module
    from ezgraph.validate.shacl import Outcome
    build_module.validate = lambda data, shapes: Outcome(True, (), ())
started = time.perf_counter()
result = build(BuildConfig(data_dir=data, ontology_dir=ontology, shapes_dir=shapes, out=out),
               log=lambda line: print(line, file=sys.stderr, flush=True))
wall = time.perf_counter() - started
peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"wall": wall, "timings": result.timings, "triples": result.triples,
                  "quads": result.quads, "violations": result.outcome.violations,
                  "warnings": result.outcome.count("Warning"), "peak_rss_mb": peak_kb / 1024}))
"""


def run_build(data: Path, out: Path, timeout: float, shacl: bool = True) -> dict[str, Any]:
    """Build ``data`` into ``out`` in a child process; its own figures plus our wall clock.
    Without ``shacl`` the validate stage is skipped (for serving only, never for the targets).

    ``peak_rss_mb`` is the larger of the child's own peak (``ru_maxrss``) and the highest sum of
    the RSS of the child and its processes (the record parsers), sampled every 0.2 s."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", _BUILD_CHILD, str(data), str(ONTOLOGY_DIR),
                              str(SHAPES_DIR), str(out), "shacl" if shacl else "no-shacl"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    tree_peak_kb = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal tree_peak_kb
        # Every 0.2 s: one sample reads all of /proc (1.5 ms), CPU the build would miss.
        while not stop.wait(0.2):
            pids = [child.pid, *_descendants(child.pid)]
            tree_peak_kb = max(tree_peak_kb, sum(_status_field(pid, "VmRSS:") for pid in pids))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return {"status": "not measured",
                "reason": f"the build did not finish within {timeout:.0f} s"}
    finally:
        stop.set()
        sampler.join()
    wall = time.perf_counter() - started
    sys.stderr.write(stderr[-4000:])
    if child.returncode != 0:
        return {"status": "failed", "reason": stderr.strip().splitlines()[-1:] or "?",
                "process_wall": wall}
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["peak_rss_mb"] = max(figures["peak_rss_mb"], tree_peak_kb / 1024)
    return {"status": "ok", "process_wall": wall, **figures}


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    sparql_path: str
    startup: float | None = None
    log: Path | None = None
    command: list[str] = field(default_factory=list)
    #: time.perf_counter() when the server's process was started.
    started_at: float = 0.0

    def pids(self) -> list[int]:
        """The server's process and every process below it (web processes, query workers)."""
        return [self.process.pid, *_descendants(self.process.pid)]

    def rss_mb(self) -> float:
        """VmRSS of the server's processes, in MB."""
        return sum(_status_field(pid, "VmRSS:") for pid in self.pids()) / 1024

    def pss_mb(self) -> float:
        """Proportional set size of the server's processes, in MB: pages shared between them
        (an in-memory copy of the store that forked workers share) counted once in all, where
        the RSS sum counts them once per process."""
        return sum(_smaps_field(pid, "Pss:") for pid in self.pids()) / 1024

    def processes(self) -> int:
        return len(self.pids())

    def threads(self) -> int:
        return sum(_status_field(pid, "Threads:") for pid in self.pids())

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server's processes, including the children they
        have reaped (a query worker killed at its time limit)."""
        return sum(_cpu_seconds(pid) for pid in self.pids())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                # The whole session (started with start_new_session): a web process whose
                # master is killed would be left serving.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def _status_field(pid: int, name: str) -> int:
    return _proc_field(pid, "status", name)


def _smaps_field(pid: int, name: str) -> int:
    return _proc_field(pid, "smaps_rollup", name)


def _proc_field(pid: int, file: str, name: str) -> int:
    """The number (kB) after ``name`` in ``/proc/PID/FILE``; 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/{file}", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), counted after the ")".
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def start_server(name: str, command: list[str], port: int, sparql_path: str, log: Path,
                 timeout: float, env: dict[str, str] | None = None) -> Server:
    """Start a server and time it until its SPARQL endpoint answers ASK {}."""
    handle = log.open("wb")
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT,
                               start_new_session=True, env=env)
    handle.close()
    server = Server(name, process, port, sparql_path, log=log, started_at=started)
    ask = f"{sparql_path}?{urllib.parse.urlencode({'query': 'ASK {}'})}"
    try:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {log}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", ask, headers={"Accept": JSON_RESULTS})
                response = connection.getresponse()
                response.read()
                connection.close()
                if response.status == 200:
                    server.startup = time.perf_counter() - started
                    return server
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{name} did not answer within {timeout:.0f} s; see {log}")
    except BaseException:
        server.stop()
        raise


def ezgraph_server_command(port: int, processes: int | None = None) -> list[str]:
    """ezgraph's production server, as src/ezgraph/web/wsgi.py documents it: uWSGI when it is
    installed, else granian, else gunicorn with threads; each keeps connections alive like
    Oxigraph's server does. One web process per CPU, each with its own query workers and answer
    caches, all opening the same store read-only.

    uWSGI first: a thread of it serves one connection from its first request to its last, as
    Oxigraph's server does, where granian hands each request from its Rust thread to a Python
    thread and back. At a million triples, one connection each, 6 rounds of 600 uncached IRI
    lookups interleaved (2026-11-24, by hand): 0.33-0.39 ms under uWSGI, 0.38-0.47 under
    granian, 0.41-0.48 on Oxigraph's server (bench/README.md)."""
    count = processes or os.cpu_count() or 2
    uwsgi = VENV_BIN / "uwsgi"
    if uwsgi.exists():
        # A listening socket per web process, as documented.
        each = range(count)
        return [str(uwsgi), "--master", "--die-on-term", "--processes", str(count),
                "--threads", "32", "--lazy-apps", "--need-app", "--single-interpreter",
                "--buffer-size", "65535", "--disable-logging", "--reuse-port",
                *[part for _ in each for part in ("--shared-socket", f"127.0.0.1:{port}")],
                *[part for index in each for part in ("--http11-socket", f"={index}")],
                *[part for index in each for part in ("--map-socket", f"{index}:{index + 1}")],
                "--module", "ezgraph.web.wsgi:create_app_for_server()"]
    granian = VENV_BIN / "granian"
    if granian.exists():
        return [str(granian), "--interface", "wsgi", "--workers", str(count),
                "--blocking-threads", "8", "--http", "1", "--workers-kill-timeout", "10",
                "--host", "127.0.0.1",
                "--port", str(port), "ezgraph.web.wsgi:app"]
    return [str(VENV_BIN / "gunicorn"), "--worker-class", "gthread", "--workers", str(count),
            "--threads", "8", "--keep-alive", "30", "--bind", f"127.0.0.1:{port}",
            "ezgraph.web.wsgi:app"]


def start_ezgraph(dist: Path, log: Path, timeout: float, in_memory: bool = False) -> Server:
    port = free_port()
    settings = {"EZGRAPH_DIST": str(dist), "EZGRAPH_MAX_ROWS": "100000",
                "EZGRAPH_TIMEOUT": str(QUERY_TIMEOUT)}
    if in_memory:
        settings["EZGRAPH_IN_MEMORY"] = "1"
    command = ezgraph_server_command(port)
    server = start_server("ezgraph", command, port, "/sparql", log, timeout,
                          env={**os.environ, **settings})
    server.command = [f"{name}={value}" for name, value in settings.items()] + command
    return server


def start_oxigraph_server(location: Path, log: Path, timeout: float,
                          in_memory: bool = False) -> Server:
    return start_oxigraph(location, log, timeout)


def warm_up(server: Server, timeout: float = 120.0, window: float = 1.0,
            idle_share: float = 0.05) -> float:
    """Seconds after ``server`` first answered until its processes stay nearly idle (less than
    ``idle_share`` of one CPU over ``window``): the start-up work it does in the background (an
    in-memory copy of the store being loaded) is over, and what is measured next is serving."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        before = server.cpu_seconds()
        time.sleep(window)
        if server.cpu_seconds() - before < idle_share * window:
            break
    return time.perf_counter() - server.started_at


def load_oxigraph(dist: Path, location: Path, compact: bool = True) -> float:
    """Load the dump (and the VoID/DCAT metadata graph the ezgraph store also holds), then
    compact the store with ``oxigraph optimize``, as ezgraph's build does to its own store (the
    command's help: useful "if you provide a read-only SPARQL endpoint under heavy load";
    ``serve-read-only`` never compacts). Unoptimized (``compact=False``, as runs before
    2026-11-23 21:17 had it), Oxigraph took up to 1.7× as long for the heavier queries
    (three-way join at 1M: 40.5 against 23.7 ms), which measured the stores' layout, not the
    servers. The time returned covers both."""
    if location.exists():
        shutil.rmtree(location)
    nquads = location.with_suffix(".nq")
    with gzip.open(dist / "ezgraph.nq.gz", "rb") as source, nquads.open("wb") as target:
        shutil.copyfileobj(source, target)
    started = time.perf_counter()
    oxigraph = str(VENV_BIN / "oxigraph")
    subprocess.run([oxigraph, "load", "--location", str(location), "--file", str(nquads)],
                   check=True, capture_output=True, timeout=900)
    for name in ("void.ttl", "dcat.ttl"):
        subprocess.run([oxigraph, "load", "--location", str(location), "--file",
                        str(dist / name), "--graph", f"{BASE}graph/metadata"],
                       check=True, capture_output=True, timeout=300)
    if compact:
        subprocess.run([oxigraph, "optimize", "--location", str(location)],
                       check=True, capture_output=True, timeout=900)
    elapsed = time.perf_counter() - started
    nquads.unlink()
    return elapsed


def start_oxigraph(location: Path, log: Path, timeout: float) -> Server:
    port = free_port()
    command = [str(VENV_BIN / "oxigraph"), "serve-read-only", "--location", str(location),
               "--bind", f"127.0.0.1:{port}", "--union-default-graph",
               "--timeout-s", str(QUERY_TIMEOUT)]
    server = start_server("oxigraph", command, port, "/query", log, timeout)
    server.command = command
    return server


# -- HTTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    path: str
    accept: str


def sparql_request(server: Server, query: str, accept: str = JSON_RESULTS) -> Request:
    return Request(f"{server.sparql_path}?{urllib.parse.urlencode({'query': query})}", accept)


def fetch(connection: http.client.HTTPConnection, request: Request) -> tuple[int, bytes]:
    """GET with keep-alive, following redirects (a 303 is part of what a client pays)."""
    path = request.path
    for _ in range(5):
        connection.request("GET", path, headers={"Accept": request.accept})
        response = connection.getresponse()
        body = response.read()
        if response.status in (301, 302, 303, 307, 308):
            location = urllib.parse.urlsplit(response.getheader("Location", ""))
            if location.hostname not in (None, "127.0.0.1", "localhost"):
                raise RuntimeError(f"refusing to follow a redirect off loopback: {location}")
            path = location.path + (f"?{location.query}" if location.query else "")
            continue
        return response.status, body
    raise RuntimeError(f"too many redirects from {request.path}")


def rows(body: bytes) -> int | None:
    try:
        return len(json.loads(body)["results"]["bindings"])
    except (ValueError, KeyError, TypeError):
        return None


def interleaved_latency(servers: list[Server], query: str, settings: Settings
                        ) -> dict[str, dict[str, Any]]:
    """One round of ``query`` on every server, their runs interleaved: each server's median
    after a warm-up, twice: the same text every time (a response cache may answer) and with a
    unique trailing comment per run (no cache can answer). Each server has its own keep-alive
    connection, and a run asks every server once, the first changing from run to run, so that
    a slow spell of the machine (they last seconds here, and moved a server's median by a third
    between consecutive rounds) falls on both alike. At least ``settings.repeats`` runs,
    more while every server has taken less than ``settings.latency_seconds`` in all, up to
    ``settings.max_repeats``."""
    connections = {server.name: http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
                   for server in servers}
    figures: dict[str, dict[str, Any]] = {server.name: {} for server in servers}
    try:
        for server in servers:
            status, body = fetch(connections[server.name], sparql_request(server, query))
            figures[server.name].update(status=status, rows=rows(body), bytes=len(body))
        stamp = time.time_ns()
        for label, text_of in (
                ("median_ms", lambda run: query),
                ("uncached_median_ms", lambda run: f"{query}\n# bench run {stamp} {run}\n")):
            times: dict[str, list[float]] = {server.name: [] for server in servers}
            run = 0
            while run < settings.repeats or (
                    run < settings.max_repeats
                    and max(sum(taken) for taken in times.values()) < settings.latency_seconds):
                for server in servers if run % 2 == 0 else servers[::-1]:
                    request = sparql_request(server, text_of(run))
                    started = time.perf_counter()
                    status, _ = fetch(connections[server.name], request)
                    times[server.name].append(time.perf_counter() - started)
                    if status != 200:
                        figures[server.name]["status"] = status
                run += 1
            for name, taken in times.items():
                figures[name][label] = statistics.median(taken) * 1000
                figures[name][label.replace("median_ms", "runs")] = len(taken)
    finally:
        for connection in connections.values():
            connection.close()
    return figures


def median_latency_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each round's medians (repeated and uncached alike), with every round's."""
    figures = dict(rounds[0])
    for key in ("median_ms", "uncached_median_ms"):
        values = [run[key] for run in rounds]
        figures[key] = statistics.median(values)
        figures[key.replace("median_ms", "rounds_ms")] = values
    for key in ("runs", "uncached_runs"):
        figures[key] = sum(run[key] for run in rounds)
    figures["status"] = next((run["status"] for run in rounds if run["status"] != 200), 200)
    return figures


def timed_runs(connection: http.client.HTTPConnection, request_of: Callable[[int], Request],
               settings: Settings) -> tuple[list[float], int | None]:
    """Seconds of each run of ``request_of(run)``: at least ``settings.repeats`` runs, more for
    quick ones (see :class:`Settings`); and the last status that was not 200, if any."""
    times: list[float] = []
    failed = None
    while len(times) < settings.repeats or (
            len(times) < settings.max_repeats and sum(times) < settings.latency_seconds):
        request = request_of(len(times))
        started = time.perf_counter()
        status, _ = fetch(connection, request)
        times.append(time.perf_counter() - started)
        if status != 200:
            failed = status
    return times, failed


#: What ezgraph's web tier costs with no store work at all: Flask answering its status.
FLOOR_REQUEST = Request("/health", "application/json")


def web_floor(server: Server, settings: Settings) -> dict[str, Any]:
    """Latency and throughput of :data:`FLOOR_REQUEST`, measured like the queries: the least
    any ezgraph request that reaches Flask costs on this machine. ``one_at_a_time``: one more
    run over a single connection (see :func:`one_at_a_time`)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        fetch(connection, FLOOR_REQUEST)  # warm-up, not timed
        times, failed = timed_runs(connection, lambda i: FLOOR_REQUEST, settings)
    finally:
        connection.close()
    runs = []
    for _ in range(settings.load_rounds):
        settle(server)
        runs.append(load(server, [FLOOR_REQUEST], settings))
    settle(server)
    return {"median_ms": statistics.median(times) * 1000, "status": failed,
            **median_round(runs),
            "one_at_a_time": one_at_a_time(server, [FLOOR_REQUEST], settings)}


#: Mixes run once more over a single connection, after their rounds at full concurrency.
ONE_AT_A_TIME_MIXES = ("cheap distinct", "entity distinct")


def one_at_a_time(server: Server, requests: list[Request], settings: Settings
                  ) -> dict[str, Any]:
    """One load run over one keep-alive connection: each request waits for the answer to the
    one before. No request competes with another for the server's CPUs and the client has a
    CPU of its own, so the server's CPU per request here is what the request itself costs; set
    beside the same figure at full concurrency, it shows what the load added."""
    return load(server, requests, dataclasses.replace(settings, concurrency=1))


def load(server: Server, requests: list[Request], settings: Settings) -> dict[str, Any]:
    """One load run with the client ``settings.client`` names."""
    if settings.client == "wrk":
        return load_wrk(server, requests, settings)
    return load_threads(server, requests, settings)


def wrk_client() -> str | None:
    """``wrk`` and its version when it is installed."""
    path = shutil.which("wrk")
    if path is None:
        return None
    # wrk -v prints its version and exits 1.
    banner = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=10)
    return (banner.stdout + banner.stderr).split(" [", 1)[0].strip() or "wrk"


def load_wrk(server: Server, requests: list[Request], settings: Settings) -> dict[str, Any]:
    """wrk with ``settings.concurrency`` threads of one keep-alive connection each, through
    bench/pages.lua: each thread asks its share of ``requests`` (redirects followed) and
    writes its figures; wrk is interrupted once all are in (it would wait out ``-d``)."""
    threads = settings.concurrency
    with tempfile.TemporaryDirectory(prefix="ezgraph-wrk-") as scratch:
        out = Path(scratch)
        listing = out / "requests.tsv"
        listing.write_text("".join(f"{r.path}\t{r.accept}\n" for r in requests),
                           encoding="utf-8")
        command = ["wrk", f"-t{threads}", f"-c{threads}", f"-d{math.ceil(settings.max_seconds)}s",
                   "--timeout", "60s", "-s", str(BENCH / "pages.lua"),
                   f"http://127.0.0.1:{server.port}", "--",
                   str(listing), str(threads), str(settings.max_requests), str(out)]
        cpu_before = server.cpu_seconds()
        client_before = _children_cpu_seconds()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        try:
            deadline = time.monotonic() + settings.max_seconds + 60
            while (process.poll() is None and time.monotonic() < deadline
                   and len(list(out.glob("thread-*.json"))) < threads):
                time.sleep(0.005)
            cpu = server.cpu_seconds() - cpu_before
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # wrk then stops, runs done() and reports
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        # wrk has been waited for: its CPU time is now the children's.
        client_cpu = _children_cpu_seconds() - client_before
        if not (out / "summary.json").is_file():
            raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.strip()[-500:]}")
        parts = [json.loads(path.read_text()) for path in sorted(out.glob("thread-*.json"))]
        summary = json.loads((out / "summary.json").read_text())
    connections = [ConnectionRun(first=part["first_us"] / 1e6, last=part["last_us"] / 1e6,
                                 ends=[value / 1e6 for value in part["ends_us"]],
                                 latencies=[value / 1e6 for value in part["latencies_us"]])
                   for part in parts if part["pages"]]
    answered = sum(part["pages"] for part in parts)
    ok = sum(part["ok"] for part in parts)
    errors = answered - ok + summary["socket_errors"] + summary["timeouts"]
    return {"client": "wrk", "requests": ok, "errors": errors,
            "first_error": [f"{errors} failed"] if errors else [],
            **busy_figures(connections, ok),
            "server_cpu_us": cpu / answered * 1e6 if answered else None,
            "client_cpu_us": client_cpu / answered * 1e6 if answered else None}


@dataclass
class ConnectionRun:
    """What one client connection did in a load run, in seconds on one clock: when it asked
    its first page, when its last answer came (of any status), and when each page answered
    200 came with how long it took."""

    first: float
    last: float
    ends: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


def busy_figures(connections: list[ConnectionRun], ok: int) -> dict[str, Any]:
    """Throughput and latency while every connection was asking: the pages answered from
    the time the last connection asked its first page until the first connection had its last
    answer (its share done, or the time up); the whole run when there was no such time.

    Each connection asks a fixed share, and ezgraph's web processes each hold the connections
    they accepted (5 and 3, say), so one process can finish its share first and idle while
    the other answers the rest: over the whole run the concurrency falls below the one asked
    for, as it does while the client's threads start. The whole run's rate is given beside
    (``rps_whole_run``)."""
    if not connections:
        return {"seconds": 0.0, "rps": 0.0, "p50_ms": None, "p99_ms": None,
                "whole_run_seconds": 0.0, "rps_whole_run": 0.0}
    first = min(connection.first for connection in connections)
    whole = max(connection.last for connection in connections) - first
    start = max(connection.first for connection in connections)
    end = min(connection.last for connection in connections)
    if end <= start:  # one connection was done before another began
        start, end = first, first + whole
    window = end - start
    latencies = sorted(latency for connection in connections
                       for answered, latency in zip(connection.ends, connection.latencies,
                                                    strict=True)
                       if start < answered <= end)
    return {"seconds": window, "rps": len(latencies) / window if window > 0 else 0.0,
            "p50_ms": _percentile(latencies, 0.50), "p99_ms": _percentile(latencies, 0.99),
            "whole_run_seconds": whole, "rps_whole_run": ok / whole if whole > 0 else 0.0}


def _children_cpu_seconds() -> float:
    """User + system time of this process's children that have been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _percentile(ordered: list[float], p: float) -> float | None:
    """The ``p`` quantile in ms of latencies in seconds, sorted."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def load_threads(server: Server, requests: list[Request], settings: Settings) -> dict[str, Any]:
    """``settings.concurrency`` Python threads, each with a keep-alive connection, take the
    requests in turn until all are done or the time is up (when wrk is not installed)."""
    lock = threading.Lock()
    runs: list[ConnectionRun] = []
    errors: list[str] = []
    next_index = [0]
    deadline = time.perf_counter() + settings.max_seconds

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        run: ConnectionRun | None = None
        try:
            while time.perf_counter() < deadline:
                with lock:
                    index = next_index[0]
                    if index >= settings.max_requests:
                        return
                    next_index[0] += 1
                request = requests[index % len(requests)]
                started = time.perf_counter()
                if run is None:
                    run = ConnectionRun(first=started, last=started)
                try:
                    status, _ = fetch(connection, request)
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    run.last = time.perf_counter()
                    with lock:
                        errors.append(repr(exc))
                    continue
                run.last = time.perf_counter()
                if status == 200:
                    run.ends.append(run.last)
                    run.latencies.append(run.last - started)
                else:
                    with lock:
                        errors.append(f"HTTP {status}")
        finally:
            connection.close()
            if run is not None:
                with lock:
                    runs.append(run)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(settings.concurrency)]
    cpu_before = server.cpu_seconds()
    # This process does nothing but the client's threads meanwhile.
    client_before = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(settings.max_seconds + 120)
    client_cpu = time.process_time() - client_before
    cpu = server.cpu_seconds() - cpu_before
    with lock:  # a thread past its join time may still be asking
        connections = list(runs)
        failed = list(errors)
    ok = sum(len(run.ends) for run in connections)
    answered = ok + len(failed)
    return {"client": "python", "requests": ok, "errors": len(failed),
            "first_error": failed[:1], **busy_figures(connections, ok),
            "server_cpu_us": cpu / answered * 1e6 if answered else None,
            "client_cpu_us": client_cpu / answered * 1e6 if answered else None}


def settle(server: Server, ceiling: int = THREAD_CEILING) -> float:
    """Wait (at most the query timeout and a bit) until ``server`` holds fewer than
    ``ceiling`` threads; returns the seconds waited.

    Oxigraph's server with ``--timeout-s`` keeps one sleeping thread per query for the whole
    timeout (oxigraph/oxigraph#1874): at thousands of requests per second they pile up until
    thread creation fails (at about 20,000 here, ``vm.max_map_count`` 65,530) and the server
    aborts. Load runs therefore start only once earlier runs' threads have gone."""
    started = time.perf_counter()
    deadline = started + QUERY_TIMEOUT + 5
    while server.threads() >= ceiling and time.perf_counter() < deadline:
        time.sleep(0.2)
    return time.perf_counter() - started


def round_requests(requests: list[Request], index: int, count: int) -> list[Request]:
    """The requests of load round ``index``: a repeated mix's one request, or the round's own
    slice of a distinct mix, so no round asks what an earlier one did (the cache would answer)."""
    if len(requests) == 1:
        return requests
    part = requests[index * count:(index + 1) * count]
    return part or requests


def median_round(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (its p50, p99 and CPU with it), the range of all
    runs, and every run's figure."""
    ordered = sorted(runs, key=lambda run: run["rps"])
    middle = ordered[(len(ordered) - 1) // 2]
    return {**middle, "rounds": len(runs), "rps_min": ordered[0]["rps"],
            "rps_max": ordered[-1]["rps"], "rps_runs": [run["rps"] for run in runs],
            "errors": sum(run["errors"] for run in runs),
            "first_error": next((run["first_error"] for run in runs if run["errors"]), [])}


def entity_ids(data: Path) -> list[str]:
    """Record ids of the generated data, in a seeded shuffled order (entity pages to ask for)."""
    ids = []
    for path in sorted((data / "records").glob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("  - id: "):
                ids.append(json.loads(line[len("  - id: "):]))
    random.Random(0).shuffle(ids)
    return ids


def throughput_requests(server: Server, entities: list[str],
                        settings: Settings) -> dict[str, list[Request]]:
    """The six load mixes: cheap / aggregate / entity, each "repeated" (one request over and
    over) and "distinct" (no two requests alike, so no response cache can answer)."""
    cheap = (QUERIES / "iri-lookup.rq").read_text()
    aggregate = (QUERIES / "aggregate-threshold.rq").read_text()
    describe = (QUERIES / "describe-zone.rq").read_text()
    count = settings.distinct_requests
    zone = "zone/z0001"

    def entity(record_id: str) -> Request:
        if server.name == "ezgraph":
            return Request(f"/id/{record_id}", "text/turtle")
        return sparql_request(server, describe.replace(zone, record_id), "text/turtle")

    # Entities repeat only when a run asks for more pages than the data has things.
    return {
        "cheap repeated": [sparql_request(server, cheap)],
        "cheap distinct": [sparql_request(server, f"{cheap.rstrip()} LIMIT {1000 + i}")
                           for i in range(count)],
        "aggregate repeated": [sparql_request(server, aggregate)],
        "aggregate distinct": [sparql_request(server, aggregate.replace("1000", str(1000 + i)))
                               for i in range(count)],
        "entity repeated": [entity(zone)],
        "entity distinct": [entity(record_id) for record_id in entities[:count]],
    }


# -- one size -----------------------------------------------------------------------------------


@dataclass
class SizeResult:
    size: str
    zones: int = 0
    generate_s: float = 0.0
    build: dict[str, Any] = field(default_factory=dict)
    #: Only when the full build was out of reach: the build with the validate stage skipped.
    build_no_shacl: dict[str, Any] = field(default_factory=dict)
    oxigraph_load_s: float | None = None
    startup: dict[str, float | None] = field(default_factory=dict)
    #: Seconds from start until the server's start-up work was done (:func:`warm_up`).
    warm: dict[str, float] = field(default_factory=dict)
    latency: dict[str, dict[str, Any]] = field(default_factory=dict)
    throughput: dict[str, dict[str, Any]] = field(default_factory=dict)
    memory_mb: dict[str, float] = field(default_factory=dict)
    #: Proportional set size (:meth:`Server.pss_mb`), beside the RSS sum of ``memory_mb``.
    pss_mb: dict[str, float] = field(default_factory=dict)
    processes: dict[str, int] = field(default_factory=dict)
    #: ezgraph's web tier with no store work (:func:`web_floor`).
    floor: dict[str, Any] = field(default_factory=dict)
    #: mix -> server -> figures of the run over one connection (:func:`one_at_a_time`).
    one_at_a_time: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: How each server was started (the command line, paths included).
    commands: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def bench_size(label: str, settings: Settings, seed: int, validate_rate: float | None = None,
               log: Any = print, reuse: bool = False) -> SizeResult:
    result = SizeResult(label)
    vocabulary = read_vocabulary()
    target = parse_size(label)
    result.zones = zones_for(target, seed, vocabulary)
    data, dist = WORK / f"data-{label}", WORK / f"dist-{label}"
    if reuse and (dist / "manifest.json").is_file() and (dist / "store" / "CURRENT").is_file():
        # Serving figures only: the data and its build are an earlier run's, not measured now.
        result.build = {"status": "not measured",
                        "reason": f"--reuse: served the earlier build in {dist.relative_to(ROOT)}"}
        log(f"[{label}] reusing {dist}")
        return _serve_and_measure(result, label, data, dist, settings, log, reuse)
    started = time.perf_counter()
    write(data, result.zones, seed, vocabulary)
    result.generate_s = time.perf_counter() - started
    log(f"[{label}] {result.zones} zones generated in {result.generate_s:.1f} s; building ...")
    # SHACL time grows at least linearly with the data: a smaller size's rate gives a lower
    # bound, and a build that would overrun the time limit is not started.
    predicted = validate_rate * target if validate_rate else None
    if predicted and predicted > settings.build_timeout:
        result.build = {"status": "not measured", "reason": (
            f"SHACL alone would take ≥ {predicted:.0f} s (linear lower bound from the smaller "
            f"size; measured growth is faster), over the {settings.build_timeout:.0f} s limit")}
    else:
        result.build = run_build(data, dist, settings.build_timeout)
    if result.build["status"] == "ok":
        log(f"[{label}] built {result.build['triples']} triples in {result.build['wall']:.1f} s, "
            f"peak {result.build['peak_rss_mb']:.0f} MB")
    else:
        log(f"[{label}] full build {result.build['status']}: {result.build.get('reason')}; "
            "building without SHACL to measure the other stages and serve the data")
        result.build_no_shacl = run_build(data, dist, settings.build_timeout, shacl=False)
        if result.build_no_shacl["status"] != "ok":
            log(f"[{label}] build without SHACL {result.build_no_shacl['status']}: "
                f"{result.build_no_shacl.get('reason')}")
            return result
        log(f"[{label}] built without SHACL: {result.build_no_shacl['triples']} triples in "
            f"{result.build_no_shacl['wall']:.1f} s, "
            f"peak {result.build_no_shacl['peak_rss_mb']:.0f} MB")
    return _serve_and_measure(result, label, data, dist, settings, log, reuse)


def _serve_and_measure(result: SizeResult, label: str, data: Path, dist: Path,
                       settings: Settings, log: Any, reuse: bool) -> SizeResult:
    entities = entity_ids(data)
    location = WORK / f"oxigraph-{label}"
    if reuse and (location / "CURRENT").is_file():
        log(f"[{label}] reusing the Oxigraph database {location}")
    else:
        result.oxigraph_load_s = load_oxigraph(dist, location)
    servers: list[Server] = []
    try:
        for starter, where in ((start_ezgraph, dist), (start_oxigraph_server, location)):
            try:
                server = starter(where, WORK / f"{starter.__name__}-{label}.log",
                                 settings.server_timeout, settings.in_memory)
            except RuntimeError as exc:
                result.notes.append(str(exc))
                log(f"[{label}] {exc}")
                continue
            servers.append(server)
            result.startup[server.name] = server.startup
            result.commands[server.name] = " ".join(server.command)
        for server in servers:
            result.warm[server.name] = warm_up(server)
        log(f"[{label}] servers up: " + ", ".join(
            f"{s.name} {s.startup:.2f} s, warm {result.warm[s.name]:.1f} s" for s in servers))
        for name in LATENCY_QUERIES:
            query = (QUERIES / f"{name}.rq").read_text()
            rounds: dict[str, list[dict[str, Any]]] = {s.name: [] for s in servers}
            for index in range(settings.latency_rounds):
                order = servers if index % 2 == 0 else servers[::-1]
                for server_name, figures in interleaved_latency(order, query, settings).items():
                    rounds[server_name].append(figures)
            result.latency[name] = {server_name: median_latency_round(runs)
                                    for server_name, runs in rounds.items()}
            log(f"[{label}] latency {name}: " + ", ".join(
                f"{s} {m['median_ms']:.1f} / uncached {m['uncached_median_ms']:.1f} ms "
                f"({m['rows']} rows)"
                for s, m in result.latency[name].items()))
        mixes = {s.name: throughput_requests(s, entities, settings) for s in servers}
        asked = settings.distinct_requests
        if len(entities) < asked:
            result.notes.append(
                f"entity distinct: the data has {len(entities)} things for up to {asked} page "
                "requests, so pages repeat and ezgraph's answer cache serves the repeats: not a "
                "distinct figure")
        for mix in next(iter(mixes.values()), {}):
            runs: dict[str, list[dict[str, Any]]] = {s.name: [] for s in servers}
            for index in range(settings.load_rounds):
                # The servers take turns, so a slow spell of the machine hits both alike.
                for server in servers:
                    requests = round_requests(mixes[server.name][mix], index,
                                              settings.max_requests)
                    settle(server)
                    runs[server.name].append(load(server, requests, settings))
            for server in servers:
                figures = median_round(runs[server.name])
                result.throughput.setdefault(mix, {})[server.name] = figures
                log(f"[{label}] {server.name} {mix}: {figures['rps']:.0f} req/s "
                    f"({figures['rps_min']:.0f}–{figures['rps_max']:.0f}), "
                    f"p50 {figures['p50_ms'] or 0:.1f} ms, p99 {figures['p99_ms'] or 0:.1f} ms, "
                    f"server CPU {figures['server_cpu_us'] or 0:.0f} µs/request, "
                    f"{figures['errors']} errors")
        for mix in ONE_AT_A_TIME_MIXES:
            for server in servers:
                if mix not in mixes[server.name]:
                    continue
                # The slice after the load rounds': requests no earlier run asked.
                requests = round_requests(mixes[server.name][mix], settings.load_rounds,
                                          settings.max_requests)
                settle(server)
                figures = one_at_a_time(server, requests, settings)
                result.one_at_a_time.setdefault(mix, {})[server.name] = figures
                log(f"[{label}] {server.name} {mix}, one connection: {figures['rps']:.0f} req/s, "
                    f"p50 {figures['p50_ms'] or 0:.2f} ms, "
                    f"server CPU {figures['server_cpu_us'] or 0:.0f} µs/request, "
                    f"{figures['errors']} errors")
        for server in servers:
            if server.name == "ezgraph":
                result.floor = web_floor(server, settings)
                log(f"[{label}] ezgraph web tier floor ({FLOOR_REQUEST.path}): "
                    f"{result.floor['median_ms']:.2f} ms, {result.floor['rps']:.0f} req/s, "
                    f"server CPU {result.floor['server_cpu_us'] or 0:.0f} µs/request")
            result.memory_mb[server.name] = server.rss_mb()
            result.pss_mb[server.name] = server.pss_mb()
            result.processes[server.name] = server.processes()
    finally:
        for server in servers:
            server.stop()
    return result


# -- report -------------------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _fmt(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def _rps(figures: dict[str, Any]) -> str:
    if "rps_min" not in figures or figures.get("rounds", 1) < 2:
        return _fmt(figures.get("rps"))
    return f"{_fmt(figures['rps'])} ({figures['rps_min']:.0f}–{figures['rps_max']:.0f})"


def check_targets(result: SizeResult) -> list[tuple[str, str, str]]:
    """(target, met / missed / not measured, figure) for one size."""
    checks = []
    build = result.build
    if build.get("status") == "ok":
        checks.append((TARGETS["build_time"], "met" if build["wall"] <= 60 else "missed",
                       f"{build['wall']:.1f} s"))
        checks.append((TARGETS["build_memory"],
                       "met" if build["peak_rss_mb"] <= 1536 else "missed",
                       f"{build['peak_rss_mb']:.0f} MB"))
    else:
        for key in ("build_time", "build_memory"):
            checks.append((TARGETS[key], "not measured", build.get("reason", "")))
    startup = result.startup.get("ezgraph")
    checks.append((TARGETS["startup"], "not measured" if startup is None else
                   ("met" if startup <= 2 else "missed"), _fmt(startup, 2, " s")))
    for key, how in (("uncached_median_ms", "uncached"), ("median_ms", "repeated (cache)")):
        ratios = {name: _ratio(m.get("ezgraph", {}).get(key), m.get("oxigraph", {}).get(key))
                  for name, m in result.latency.items()}
        target = f"{TARGETS['latency']}, {how}"
        if ratios and all(r is not None for r in ratios.values()):
            worst = max(ratios, key=lambda n: ratios[n])
            checks.append((target, "met" if ratios[worst] <= 1 else "missed",
                           f"worst {worst} ×{ratios[worst]:.2f}; "
                           f"{sum(r <= 1 for r in ratios.values())}/{len(ratios)} within"))
        else:
            checks.append((target, "not measured", ""))
    for key, mixes, bound in (
            ("throughput_repeated", ("cheap repeated", "aggregate repeated", "entity repeated",
                                     "entity distinct"), 1.0),
            ("throughput_distinct", ("cheap distinct", "aggregate distinct"), 0.5)):
        figures = {m: _ratio(result.throughput.get(m, {}).get("ezgraph", {}).get("rps"),
                             result.throughput.get(m, {}).get("oxigraph", {}).get("rps"))
                   for m in mixes}
        if figures and all(r is not None for r in figures.values()):
            ok = all(r >= bound for r in figures.values())
            checks.append((TARGETS[key], "met" if ok else "missed",
                           "; ".join(f"{m} ×{r:.2f}" for m, r in figures.items())))
        else:
            checks.append((TARGETS[key], "not measured", ""))
    return checks


def markdown(results: list[SizeResult], info: dict[str, Any], settings: Settings) -> str:
    out = ["# ezgraph benchmarks", "",
           f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `python -m bench.run`; "
           f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gb']} GB RAM, "
           f"Python {info['python']}, ezgraph {info['ezgraph']}, {info['oxigraph_server']}, "
           + ", ".join(f"{k} {v}" for k, v in info["libraries"].items()) + ".",
           f"Latency: median of at least {settings.repeats} runs after one warm-up (up to "
           f"{settings.max_repeats} while they take under {settings.latency_seconds:g} s), one "
           f"keep-alive connection per server, in {settings.latency_rounds} rounds per query, "
           "each round interleaving the servers' runs (every run asks each server once, the "
           "first changing from run to run), the median round reported. "
           f"Load: {info.get('load_client', 'Python threads')}, "
           f"{settings.concurrency} connections, at most {settings.max_requests} "
           f"requests or {settings.max_seconds:g} s per run, each connection asking an equal "
           f"share, {settings.load_rounds} runs per mix and server (the servers taking turns), "
           "the median run reported, its throughput and latency while every connection was "
           "asking; the client shares the CPUs with the server.", ""]
    out += ["## Build", "",
            "| size | zones | triples | status | wall s | read | map | validate | dumps | "
            "describe | store | publish | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for b, how in ((r.build, "full"), (r.build_no_shacl, "without SHACL (serving only)")):
            if not b:
                continue
            t = b.get("timings", {})
            status = how if b.get("status") == "ok" else f"{how}: {b.get('status')}, " \
                f"{b.get('reason', '')}"
            out.append(f"| {r.size} | {r.zones} | {b.get('triples', '–')} | {status} | "
                       f"{_fmt(b.get('wall'))} | "
                       + " | ".join(_fmt(t.get(s), 2) for s in ("read", "map", "validate",
                                                                "dumps", "describe", "store",
                                                                "publish"))
                       + f" | {_fmt(b.get('peak_rss_mb'), 0)} |")
    out += ["", "## Start-up and memory", "",
            "Start-up: until the first answer. Warm: until the server's processes were idle "
            "after starting, i.e. ezgraph's in-memory copies of the store were loaded (the "
            "measurements below start then); the server answers from disk meanwhile. Memory "
            "after the runs, over all of a server's processes: PSS (proportional set size) "
            "counts a page that several processes share once in all, the RSS sum once per "
            "process (ezgraph's query workers share the in-memory copy of their fork server).",
            "",
            "| size | ezgraph start-up s | ezgraph warm s | Oxigraph start-up s | "
            "Oxigraph load + optimize s | ezgraph PSS MB (processes) | ezgraph RSS sum MB | "
            "Oxigraph PSS MB | Oxigraph RSS MB |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        out.append(f"| {r.size} | {_fmt(r.startup.get('ezgraph'), 2)} | "
                   f"{_fmt(r.warm.get('ezgraph'), 1)} | "
                   f"{_fmt(r.startup.get('oxigraph'), 2)} | {_fmt(r.oxigraph_load_s)} | "
                   f"{_fmt(r.pss_mb.get('ezgraph'), 0)} ({r.processes.get('ezgraph', '–')}) | "
                   f"{_fmt(r.memory_mb.get('ezgraph'), 0)} | "
                   f"{_fmt(r.pss_mb.get('oxigraph'), 0)} | "
                   f"{_fmt(r.memory_mb.get('oxigraph'), 0)} |")
    out += ["", "## /sparql latency (median ms)", "",
            "\"repeated\": the same query text every run, so ezgraph's response cache answers; "
            "\"uncached\": each run carries a unique trailing comment, so the store computes "
            "the answer every time (Oxigraph has no response cache: both columns are alike).", "",
            "| size | query | ezgraph repeated | Oxigraph repeated | ratio | ezgraph uncached | "
            "Oxigraph uncached | ratio | rows (ez / ox) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for name, m in r.latency.items():
            ez, ox = m.get("ezgraph", {}), m.get("oxigraph", {})
            cells = []
            for key in ("median_ms", "uncached_median_ms"):
                ratio = _ratio(ez.get(key), ox.get(key))
                cells.append(f"{_fmt(ez.get(key), 2)} | {_fmt(ox.get(key), 2)} | "
                             f"{_fmt(ratio, 2)}")
            out.append(f"| {r.size} | {name} | {' | '.join(cells)} | "
                       f"{ez.get('rows', '–')} / {ox.get('rows', '–')} |")
    out += ["", f"## Throughput at concurrency {settings.concurrency}", "",
            f"req/s and p50 / p99 latency while all {settings.concurrency} connections were "
            "asking (each asks a fixed share; the figures stop when the first has had its "
            "last answer), of the median run, the range of all runs in brackets; whole run: "
            "the median run's answers over the time until the last connection had its last "
            "one. Server CPU: user + system time of the server's processes (ezgraph's web "
            "processes and query workers) per request during the median run, which the load "
            "client does not share; client CPU: the load client's own, per request of the same "
            "run (its start-up included), on the same CPUs. An entity page is one request "
            "here, and for ezgraph two HTTP exchanges (the 303 and the document) for both "
            "server and client.", "",
            "| size | mix | ezgraph req/s | p50 / p99 ms | Oxigraph req/s | p50 / p99 ms | "
            "ezgraph / Oxigraph | whole run req/s (ez / ox) | server CPU µs/req (ez / ox) | "
            "client CPU µs/req (ez / ox) | errors (ez / ox) |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for mix, m in r.throughput.items():
            ez, ox = m.get("ezgraph", {}), m.get("oxigraph", {})
            out.append(f"| {r.size} | {mix} | {_rps(ez)} | "
                       f"{_fmt(ez.get('p50_ms'))} / {_fmt(ez.get('p99_ms'))} | "
                       f"{_rps(ox)} | {_fmt(ox.get('p50_ms'))} / "
                       f"{_fmt(ox.get('p99_ms'))} | {_fmt(_ratio(ez.get('rps'), ox.get('rps')), 2)}"
                       f" | {_fmt(ez.get('rps_whole_run'), 0)} / {_fmt(ox.get('rps_whole_run'), 0)}"
                       f" | {_fmt(ez.get('server_cpu_us'), 0)} / {_fmt(ox.get('server_cpu_us'), 0)}"
                       f" | {_fmt(ez.get('client_cpu_us'), 0)} / {_fmt(ox.get('client_cpu_us'), 0)}"
                       f" | {ez.get('errors', '–')} / {ox.get('errors', '–')} |")
    alone = [r for r in results if r.one_at_a_time or r.floor.get("one_at_a_time")]
    if alone:
        out += ["", "## One request at a time", "",
                f"The distinct mixes and the web tier floor once more, over one keep-alive "
                f"connection: one run of up to {settings.max_requests} requests no earlier run "
                "asked, each sent when the one before is answered. No request competes with "
                "another for the CPUs and the client has a CPU to itself, so the server CPU per "
                "request is what one request costs the server; compare it with the same column "
                "at full concurrency above.", "",
                "| size | mix | ezgraph req/s | p50 ms | Oxigraph req/s | p50 ms | "
                "server CPU µs/req (ez / ox) | CPU ratio | errors (ez / ox) |",
                "|---|---|---|---|---|---|---|---|---|"]
        for r in alone:
            table_rows = [(mix, m.get("ezgraph", {}), m.get("oxigraph", {}))
                          for mix, m in r.one_at_a_time.items()]
            if r.floor.get("one_at_a_time"):
                table_rows.append((f"web tier floor (`{FLOOR_REQUEST.path}`)",
                                   r.floor["one_at_a_time"], {}))
            for mix, ez, ox in table_rows:
                ratio = _ratio(ez.get("server_cpu_us"), ox.get("server_cpu_us"))
                out.append(f"| {r.size} | {mix} | {_rps(ez)} | {_fmt(ez.get('p50_ms'), 2)} | "
                           f"{_rps(ox)} | {_fmt(ox.get('p50_ms'), 2)} | "
                           f"{_fmt(ez.get('server_cpu_us'), 0)} / "
                           f"{_fmt(ox.get('server_cpu_us'), 0)} | {_fmt(ratio, 2)} | "
                           f"{ez.get('errors', '–')} / {ox.get('errors', '–')} |")
    floors = [r for r in results if r.floor]
    if floors:
        out += ["", "## ezgraph's web tier floor", "",
                f"`GET {FLOOR_REQUEST.path}`: Flask answering a status from memory, no store "
                "work, measured like the queries (latency: one connection; throughput: the same "
                "load). No ezgraph request that reaches Flask costs less; compare with "
                "Oxigraph's uncached IRI lookup and cheap distinct figures above.", "",
                "| size | latency median ms | req/s | p50 / p99 ms | server CPU µs/req | "
                "errors |", "|---|---|---|---|---|---|"]
        for r in floors:
            f = r.floor
            failed = f" (status {f['status']})" if f.get("status") else ""
            out.append(f"| {r.size} | {_fmt(f.get('median_ms'), 2)}{failed} | {_rps(f)} | "
                       f"{_fmt(f.get('p50_ms'))} / {_fmt(f.get('p99_ms'))} | "
                       f"{_fmt(f.get('server_cpu_us'), 0)} | {f.get('errors', '–')} |")
    out += ["", "## Targets of the issue", "",
            "The targets are set at 1M triples; smaller sizes are shown for the trend.", "",
            "| size | target | verdict | figure |", "|---|---|---|---|"]
    for r in results:
        for target, verdict, figure in check_targets(r):
            out.append(f"| {r.size} | {target} | **{verdict}** | {figure} |")
    commands = {name: command for r in results for name, command in r.commands.items()}
    if commands:
        out += ["", "## Servers", ""]
        out += [f"- {name}: `{command}`" for name, command in commands.items()]
    notes = [f"- {r.size}: {n}" for r in results for n in r.notes]
    if notes:
        out += ["", "## Notes", "", *notes]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None,
                        help="comma-separated target sizes (default 10k,100k,1m; --quick: 10k)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats and shorter load runs, for a smoke test")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--build-timeout", type=float, default=None,
                        help="seconds a build may take before it is recorded as not measured "
                        "(default 600; --quick: 300)")
    parser.add_argument("--reuse", action="store_true",
                        help="serve the data, build and Oxigraph database an earlier run left in "
                        "bench/work instead of generating and building again (build not "
                        "measured)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto",
                        help="load client of the throughput runs (default: wrk when installed, "
                        "else Python threads)")
    parser.add_argument("--disk", action="store_true",
                        help="serve ezgraph from its on-disk store only (default: in-memory "
                        "copies, EZGRAPH_IN_MEMORY=1)")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="where latest.md and latest.json go (default bench/results)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else Settings()
    if args.build_timeout:
        settings = dataclasses.replace(settings, build_timeout=args.build_timeout)
    wrk = wrk_client()
    if args.client == "wrk" and wrk is None:
        parser.error("--client wrk: wrk is not installed (Debian: apt-get install wrk)")
    client = "python" if args.client == "python" or wrk is None else "wrk"
    settings = dataclasses.replace(settings, client=client, in_memory=not args.disk)
    sizes = (args.sizes or ("10k" if args.quick else "10k,100k,1m")).split(",")
    WORK.mkdir(parents=True, exist_ok=True)
    info = machine()
    info["load_client"] = wrk if client == "wrk" else "Python threads (http.client)"
    results: list[SizeResult] = []
    validate_rate = None  # seconds of SHACL per triple, the worst seen so far
    for size in sizes:
        result = bench_size(size.strip().lower(), settings, args.seed, validate_rate,
                            reuse=args.reuse)
        results.append(result)
        if result.build.get("status") == "ok":
            rate = result.build["timings"]["validate"] / result.build["triples"]
            validate_rate = max(rate, validate_rate or 0.0)
        # Keep what was measured even if a later size fails or is interrupted.
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "latest.json").write_text(json.dumps(
            {"machine": info, "settings": settings.__dict__, "targets": TARGETS,
             "results": [r.__dict__ for r in results]}, indent=2, default=str) + "\n")
        (args.out / "latest.md").write_text(markdown(results, info, settings))
    print((args.out / "latest.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
