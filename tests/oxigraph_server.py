"""A real Oxigraph SPARQL server for tests: the ``oxigraph`` binary of the PyPI package.

``OxigraphServer(directory)`` runs ``oxigraph serve --location DIR --bind 127.0.0.1:PORT`` on a
free loopback port, waits until it answers, and stops it again; ``stop()`` then ``start()`` brings
the same database back on the same port (for tests of a store that goes away and returns).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

#: The server binary installed next to the test interpreter by the ``oxigraph`` package.
OXIGRAPH = Path(sys.executable).with_name("oxigraph")


def oxigraph_binary() -> str | None:
    """Path of the ``oxigraph`` server binary, or ``None`` when it is not installed."""
    if OXIGRAPH.is_file() and os.access(OXIGRAPH, os.X_OK):
        return str(OXIGRAPH)
    return shutil.which("oxigraph")


def load_files(location: Path, *files: Path) -> Path:
    """Load RDF files into a new Oxigraph database at ``location`` with ``oxigraph load``."""
    binary = oxigraph_binary()
    if binary is None:
        raise RuntimeError("the oxigraph server binary is missing: pip install oxigraph")
    for path in files:
        subprocess.run([binary, "load", "--location", str(location), "--file", str(path)],
                       check=True, capture_output=True, timeout=120)
    return location


def free_port() -> int:
    """A TCP port nothing listens on right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OxigraphServer:
    """One ``oxigraph serve`` process over a database directory; a context manager."""

    def __init__(
        self,
        location: Path,
        *,
        union_default_graph: bool = True,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        binary = oxigraph_binary()
        if binary is None:
            raise RuntimeError("the oxigraph server binary is missing: pip install oxigraph")
        self.binary = binary
        self.location = Path(location)
        self.port = port or free_port()
        self.union_default_graph = union_default_graph
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.location.with_name(self.location.name + ".log")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        return f"{self.base}/query"

    @property
    def update_url(self) -> str:
        return f"{self.base}/update"

    @property
    def store_url(self) -> str:
        return f"{self.base}/store"

    def start(self, timeout: float = 20.0) -> OxigraphServer:
        self.location.mkdir(parents=True, exist_ok=True)
        command = [
            self.binary,
            "serve",
            "--location",
            str(self.location),
            "--bind",
            f"127.0.0.1:{self.port}",
            *(["--union-default-graph"] if self.union_default_graph else []),
            *self.extra_args,
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"oxigraph serve exited with {self.process.returncode}: "
                    f"{self.log_path.read_text(errors='replace')[-2000:]}"
                )
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"oxigraph serve did not answer on port {self.port} in {timeout} s")

    def _answers(self) -> bool:
        request = urllib.request.Request(
            f"{self.query_url}?query=ASK%7B%7D",
            headers={"Accept": "application/sparql-results+json"},
        )
        # No proxy: an http_proxy in the environment must not see loopback requests.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        # The port is free again once nothing accepts on it.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)

    def kill(self) -> None:
        """Stop the server the hard way (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        self.stop()

    def __enter__(self) -> OxigraphServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_REAL_BUILD: Path | None = None


def real_build(out: Path) -> Path:
    """The project's real build (``ezgraph build`` of data/, ontology/, shapes/) written to
    ``out`` once per test session; later calls return the first directory (the build takes
    seconds)."""
    global _REAL_BUILD
    if _REAL_BUILD is None or not (_REAL_BUILD / "manifest.json").is_file():
        from ezgraph.publish.build import BuildConfig, build

        root = Path(__file__).resolve().parent.parent
        result = build(BuildConfig(root / "data", root / "ontology", root / "shapes", out),
                       log=lambda _: None)
        assert result.outcome.violations == 0
        _REAL_BUILD = out
    return _REAL_BUILD


def stop_serve(process: subprocess.Popen[bytes], log: Path) -> None:
    """Stop an ``ezgraph serve`` started by a test; it must have logged no traceback."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    assert "Traceback" not in log.read_text()
