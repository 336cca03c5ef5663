"""Optional imports of httpx that quaywatch never uses, marked absent before httpx loads (an
import of them raises ImportError, which both libraries expect): httpcore looks for the trio
async library (~80 ms where it is installed; all our I/O is synchronous), and httpx loads its
own command-line client, which pulls in rich, click and pygments (~40 ms, and ~10 MB that the
Lambda package would otherwise have to ship). Called first by the CLI and by the handlers."""

from __future__ import annotations

import sys


def skip_unused_optional_imports() -> None:
    sys.modules.setdefault("trio", None)  # type: ignore[arg-type]
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
