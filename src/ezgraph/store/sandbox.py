"""Query workers may not reach the network: the kernel refuses them internet sockets.

The guard (:mod:`ezgraph.store.guard`) refuses ``SERVICE`` before a query runs, but it reads
queries with its own tokenizer, and Oxigraph's parser does not always cut a query into the same
tokens (an escape inside an IRI, or a ``<`` that one reads as an IRI and the other as "less
than"). Both engines fetch any URL a ``SERVICE`` clause names. So a query worker also gives up,
before its first job, the right to create IPv4 and IPv6 sockets (a seccomp filter through
libseccomp, Linux only): a query that still reaches for another server fails with "Permission
denied", and nothing leaves the machine. Unix sockets (the pipe to the web process) and files
stay usable. This module is imported by the workers: stdlib and pyseccomp only.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys

#: Why a query that tried to open a network connection was refused.
NETWORK_REFUSED = ("the query tried to contact another server (SERVICE), and this endpoint "
                   "does not contact other servers")


def deny_network() -> str | None:
    """Forbid this process, for good, to create IPv4 and IPv6 sockets. ``None`` once done, else
    why it could not be done (the guard is then the only barrier)."""
    if not sys.platform.startswith("linux"):
        return f"seccomp filters exist on Linux only, not on {sys.platform}"
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as error:  # OSError: pyseccomp found no libseccomp.so
        return f"pyseccomp is not usable ({error})"
    try:
        rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for family in (socket.AF_INET, socket.AF_INET6):
            rules.add_rule(seccomp.ERRNO(errno.EACCES), "socket",
                           seccomp.Arg(0, seccomp.EQ, family))
        rules.load()
    except (OSError, RuntimeError, ValueError) as error:
        return f"the seccomp filter could not be loaded ({error})"
    return None


_warned = False


def warn_unsandboxed(reason: str) -> None:
    """Log, once per process, that query workers run with network access."""
    global _warned
    if not _warned:
        _warned = True
        logging.getLogger("ezgraph.store").warning(
            "query workers can reach the network: %s; SERVICE is refused by the query guard "
            "alone", reason)
