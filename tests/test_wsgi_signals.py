"""Which threads and processes take a WSGI server's stop signals (ezgraph.web.wsgi).

uWSGI ends a web process from whichever thread a stop signal lands in; landing in a RocksDB
thread, Python's teardown waited for the main thread until uWSGI's master killed the process a
minute later. The threads the app starts while it loads must leave these signals to the
server's own threads, and the query worker processes must still take them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from ezgraph.store.oxigraph import load_rdf_files
from ezgraph.web.wsgi import STOP_SIGNALS

SAMPLE_TRIG = Path(__file__).parent / "fixtures" / "sample.trig"

#: Loads the app as a WSGI server does, in a fresh process (RocksDB starts its threads once per
#: process), and reports every thread's and query worker's blocked signals.
REPORT = r"""
import json, multiprocessing, os, signal, time
from ezgraph.web.wsgi import create_app_for_server

def blocked(path):
    with open(path) as status:
        mask = next(line for line in status if line.startswith("SigBlk:")).split()[1]
    mask = int(mask, 16)
    return [number for number in range(1, 65) if mask & (1 << (number - 1))]

before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
app = create_app_for_server()
threads = {}
for task in os.listdir("/proc/self/task"):
    with open(f"/proc/self/task/{task}/comm") as comm:
        name = comm.read().strip()
    threads.setdefault(name, []).append(blocked(f"/proc/self/task/{task}/status"))
workers = {}
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    found = [child for child in multiprocessing.active_children()
             if child.name == "ezgraph-query-worker"]
    workers = {child.pid: blocked(f"/proc/{child.pid}/status") for child in found}
    if found and not any(workers.values()):
        break  # every worker has taken its signals back
    time.sleep(0.1)
print(json.dumps({"caller_before": sorted(before),
                  "caller_after": sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),
                  "threads": threads, "workers": workers}))
app.extensions["ezgraph"].store.close()
"""


def test_threads_started_while_loading_leave_stop_signals_to_the_server(tmp_path: Path) -> None:
    # A store on disk, as served in production: RocksDB starts its threads after the query
    # workers (and multiprocessing's resource tracker) have started.
    load_rdf_files(tmp_path / "store", [SAMPLE_TRIG])
    env = {**os.environ, "EZGRAPH_STORE": f"oxigraph:{tmp_path / 'store'}",
           "EZGRAPH_QUERY_WORKERS": "2"}
    result = subprocess.run([sys.executable, "-c", REPORT], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    stop = {int(number) for number in STOP_SIGNALS}
    assert {signal.SIGINT, signal.SIGTERM} <= STOP_SIGNALS
    # The loading thread's own mask is as it was.
    assert report["caller_after"] == report["caller_before"] == []
    rocksdb = [mask for name, masks in report["threads"].items() if name.startswith("rocksdb")
               for mask in masks]
    assert rocksdb, report["threads"]
    for mask in rocksdb:
        assert stop <= set(mask), (mask, stop)
    # The query workers, started in the block, take SIGTERM again.
    assert len(report["workers"]) == 2
    assert all(mask == [] for mask in report["workers"].values()), report["workers"]
