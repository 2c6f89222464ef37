"""The benchmark's latency rounds interleave the servers: every run asks each server once over
its own keep-alive connection, the first changing from run to run, so that a slow spell of the
machine falls on both alike. Measured against two real HTTP servers on loopback, one slower."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
import urllib.parse
from collections.abc import Iterator

from bench.run import Server, Settings, interleaved_latency

ANSWER = b'{"head":{"vars":["o"]},"results":{"bindings":[{"o":{"type":"literal","value":"1"}}]}}'


@contextlib.contextmanager
def _servers(delays: dict[str, float], statuses: dict[str, int] | None = None
             ) -> Iterator[tuple[list[Server], list[tuple[str, str]]]]:
    """A real HTTP server per name, answering every GET after its delay, with 200 or, for the
    uncached runs' texts, the status ``statuses`` gives it; and the log of ``(name, query)``
    each request asked, in the order they came."""
    asked: list[tuple[str, str]] = []
    lock = threading.Lock()
    running = []
    for name, delay in delays.items():

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like both servers benchmarked
            disable_nagle_algorithm = True  # headers and body go in two writes

            def do_GET(self, name: str = name, delay: float = delay,
                       status: int = (statuses or {}).get(name, 200)) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)["query"][0]
                with lock:
                    asked.append((name, query))
                time.sleep(delay)
                self.send_response(status if "# bench run" in query else 200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(ANSWER)))
                self.end_headers()
                self.wfile.write(ANSWER)

            def log_message(self, *args: object) -> None:
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        running.append((name, httpd))
    try:
        yield ([Server(name, None, httpd.server_address[1], "/sparql")  # type: ignore[arg-type]
                for name, httpd in running], asked)
    finally:
        for _, httpd in running:
            httpd.shutdown()
            httpd.server_close()


def test_each_run_asks_every_server_once_the_first_changing_from_run_to_run() -> None:
    settings = Settings(repeats=5, max_repeats=9, latency_seconds=60.0)
    with _servers({"fast": 0.0, "slow": 0.004}) as (servers, asked):
        figures = interleaved_latency(servers, "ASK {}", settings)
    warm_up, repeated, uncached = asked[:2], asked[2:20], asked[20:]
    assert [name for name, _ in warm_up] == ["fast", "slow"]
    # max_repeats runs of each kind: fast, slow, then slow, fast, and so on.
    assert [name for name, _ in repeated] == ["fast", "slow", "slow", "fast"] * 4 + ["fast", "slow"]
    assert [name for name, _ in uncached] == [name for name, _ in repeated]
    assert {query for _, query in repeated} == {"ASK {}"}
    # A unique text per run, the same for both servers in one run.
    uncached_texts = [query for _, query in uncached]
    assert len(set(uncached_texts)) == 9 and all(text.startswith("ASK {}\n# bench run ")
                                                 for text in uncached_texts)
    for name in ("fast", "slow"):
        assert (figures[name]["status"], figures[name]["rows"]) == (200, 1)
        assert figures[name]["runs"] == figures[name]["uncached_runs"] == 9
    assert figures["slow"]["uncached_median_ms"] >= 4
    assert figures["slow"]["median_ms"] - figures["fast"]["median_ms"] >= 3


def test_runs_stop_when_a_server_has_taken_its_time_and_both_get_as_many() -> None:
    # The slow server takes its 0.1 s in about five runs of 20 ms; without the bound on time
    # the fast one would go on to max_repeats.
    settings = Settings(repeats=3, max_repeats=201, latency_seconds=0.1)
    with _servers({"fast": 0.0, "slow": 0.02}) as (servers, _):
        figures = interleaved_latency(servers, "ASK {}", settings)
    for label in ("runs", "uncached_runs"):
        assert figures["fast"][label] == figures["slow"][label]
        assert 3 <= figures["slow"][label] <= 8


def test_the_least_number_of_runs_is_kept_however_long_they_take() -> None:
    settings = Settings(repeats=4, max_repeats=201, latency_seconds=0.001)
    with _servers({"only": 0.01}) as (servers, asked):
        figures = interleaved_latency(servers, "ASK {}", settings)
    assert figures["only"]["runs"] == figures["only"]["uncached_runs"] == 4
    assert len(asked) == 1 + 4 + 4


def test_a_server_failing_in_the_timed_runs_is_reported_with_its_status() -> None:
    settings = Settings(repeats=3, max_repeats=3)
    with _servers({"up": 0.0, "down": 0.0}, {"down": 503}) as (servers, _):
        figures = interleaved_latency(servers, "ASK {}", settings)
    assert figures["down"]["status"] == 503
    assert figures["up"]["status"] == 200
    assert figures["down"]["uncached_runs"] == figures["up"]["uncached_runs"] == 3
