"""Apache Jena from Debian's ``libapache-jena-java`` (installed by ``make test``), made runnable.

Debian's jena-core moved the Xerces classes to package ``xerces`` but left their message bundles
under ``org/apache/jena/ext/xerces``: without a copy at the moved place Jena fails with "internal
error" on the first pattern facet or datatype check. :func:`jena_classpath` puts that copy into a
work directory in front of the jars.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

JAVA_DIR = Path("/usr/share/java")
#: SLF4J bindings that clash on Debian's /usr/share/java/* (one is enough: slf4j-nop).
CLASHING_JARS = re.compile(r"slf4j|log4j|maven|plexus|wagon|sisu|guice|commons-logging")


def jena_available(component: str = "jena-shacl") -> bool:
    return shutil.which("java") is not None and (JAVA_DIR / f"{component}.jar").exists()


def jena_classpath(workdir: Path) -> str:
    overlay = workdir / "xerces-messages"
    with zipfile.ZipFile(JAVA_DIR / "jena-core.jar") as jar:
        for name in jar.namelist():
            prefix = "org/apache/jena/ext/xerces/"
            if name.startswith(prefix) and name.endswith(".properties"):
                target = overlay / "xerces" / name[len(prefix):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(jar.read(name))
    jars = sorted(p for p in JAVA_DIR.glob("*.jar")
                  if not re.search(r"-\d", p.name) and not CLASHING_JARS.search(p.name))
    return ":".join([str(overlay), *map(str, jars), str(JAVA_DIR / "slf4j-api.jar"),
                     str(JAVA_DIR / "slf4j-nop.jar")])
