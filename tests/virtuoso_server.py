"""A real Virtuoso (Debian's ``virtuoso-opensource``) for tests, on free loopback ports.

``VirtuosoServer(directory)`` writes a minimal ``virtuoso.ini`` there (database files in that
directory, SQL and HTTP ports on 127.0.0.1, small buffers), runs ``virtuoso-t +foreground`` (so
the process is ours to stop: without it Virtuoso forks into the background), waits until
``/sparql`` answers, and kills it on :meth:`stop` (SIGTERM, then SIGKILL after a few seconds: a
checkpointing Virtuoso can take a while to exit and a test must not wait for it).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from oxigraph_server import free_port

VIRTUOSO = "virtuoso-t"
ISQL = "isql-vt"

INI = """\
[Database]
DatabaseFile       = {dir}/virtuoso.db
ErrorLogFile       = {dir}/virtuoso.log
LockFile           = {dir}/virtuoso.lck
TransactionFile    = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile    = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
Striping        = 0

[Parameters]
ServerPort         = 127.0.0.1:{sql_port}
DisableUnixSocket  = 1
CheckpointInterval = 0
NumberOfBuffers    = 10000
MaxDirtyBuffers    = 6000
ThreadsPerQuery    = 2
DirsAllowed        = ., {dir}
VADInstallDir      = /usr/share/virtuoso-opensource-7/vad/

[HTTPServer]
ServerPort         = 127.0.0.1:{http_port}
ServerRoot         = /var/lib/virtuoso-opensource-7/vsp
ServerThreads      = 4
MaxKeepAlives      = 10
Charset            = UTF-8
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows           = 1000000
MaxQueryExecutionTime      = 60
MaxQueryCostEstimationTime = 400
"""


def virtuoso_binary() -> str | None:
    return shutil.which(VIRTUOSO)


class VirtuosoServer:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.sql_port = free_port()
        self.http_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def sparql_url(self) -> str:
        return f"{self.base}/sparql"

    def gsp_url(self, user: str = "dba", password: str = "dba") -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.http_port}/sparql-graph-crud-auth"

    def start(self, timeout: float = 60.0) -> VirtuosoServer:
        binary = virtuoso_binary()
        if binary is None:
            raise RuntimeError("virtuoso-t is not installed (apt-get install virtuoso-opensource)")
        self.directory.mkdir(parents=True, exist_ok=True)
        ini = self.directory / "virtuoso.ini"
        ini.write_text(INI.format(dir=self.directory, sql_port=self.sql_port,
                                  http_port=self.http_port))
        log = open(self.directory / "stdout.log", "ab")  # noqa: SIM115 - the child keeps it
        with log:
            self.process = subprocess.Popen(
                [binary, "+foreground", "+configfile", str(ini)], cwd=self.directory,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited with {self.process.returncode}: "
                                   f"{self._log_tail()}")
            if self._answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"virtuoso-t did not answer within {timeout} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        path = self.directory / "virtuoso.log"
        return path.read_text(errors="replace")[-2000:] if path.is_file() else ""

    def _answers(self) -> bool:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{self.sparql_url}?query=ASK%7B%7D", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def isql(self, statement: str) -> str:
        """Run one SQL statement as dba with ``isql-vt``; its output."""
        result = subprocess.run(
            [ISQL, f"127.0.0.1:{self.sql_port}", "dba", "dba", f"exec={statement}"],
            capture_output=True, text=True, timeout=60)
        if result.returncode != 0 or "Error" in result.stdout:
            raise RuntimeError(f"isql {statement!r}: {result.stdout} {result.stderr}")
        return result.stdout

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        (self.directory / "virtuoso.lck").unlink(missing_ok=True)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        self.stop()

    def __enter__(self) -> VirtuosoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
