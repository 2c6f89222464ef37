"""The production WSGI servers of src/ezgraph/web/wsgi.py, run for tests as documented.

``documented_command(program)`` reads a server's command out of the wsgi module's docstring;
``DocumentedUwsgi(env)`` runs uWSGI's on a free loopback port until stopped, so that what is
tested is what the documentation tells users to run.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from oxigraph_server import free_port

from ezgraph.web import wsgi

#: Where the wsgi module's uWSGI command listens; tests swap in a free port.
DOCUMENTED_ADDRESS = "127.0.0.1:8000"
UWSGI = Path(sys.executable).with_name("uwsgi")


def documented_command(program: str) -> list[str]:
    """The arguments of ``program``'s command in the wsgi module's docstring."""
    text = (wsgi.__doc__ or "").replace("\\\n", " ")
    line = next(line for line in text.splitlines() if f" {program} " in line)
    return shlex.split(line.split(f" {program} ", 1)[1])


class DocumentedUwsgi:
    """uWSGI serving ``ezgraph.web.wsgi`` with the documented command, configured by ``env``
    (``EZGRAPH_*``), on a free port; ``start()`` returns once every web process is ready."""

    def __init__(self, env: dict[str, str], log: Path, processes: int = 2) -> None:
        self.port = free_port()
        self.env = env
        self.log = log
        self.processes = processes
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 60) -> DocumentedUwsgi:
        arguments = [argument.replace(DOCUMENTED_ADDRESS, f"127.0.0.1:{self.port}")
                     for argument in documented_command("uwsgi")]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([str(UWSGI), *arguments], stdout=log,
                                            stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while self.log.read_bytes().count(b"ezgraph ready") < self.processes:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uWSGI did not start:\n{self.log.read_text()}")
            time.sleep(0.1)
        while True:
            try:
                with urllib.request.urlopen(self.base + "health", timeout=5):
                    return self
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"uWSGI did not answer:\n{self.log.read_text()}") from None
                time.sleep(0.1)

    def stop(self) -> int | None:
        """Stop with SIGTERM, as a service manager does; the exit status, None if it had to be
        killed after 30 s."""
        if self.process is None:
            return None
        self.process.terminate()
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
            return None
