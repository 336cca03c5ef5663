"""Lambda handlers: one module per function of template.yaml. Each parses its event, calls
one use case (``quaywatch.usecases``) and shapes the reply; the domain code lives elsewhere."""

from quaywatch.lean_imports import skip_unused_optional_imports

skip_unused_optional_imports()  # before any handler loads httpx
