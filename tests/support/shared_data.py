"""Where the real feeds and upstream vectors are: ``../shared/data`` next to the checkout,
else the verbatim copy under ``tests/fixtures/shared`` (a clean clone on a CI machine)."""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
_NEXT_TO_CHECKOUT = REPOSITORY.parent / "shared" / "data"
_COPY = REPOSITORY / "tests" / "fixtures" / "shared"


def shared_data() -> Path:
    if (_NEXT_TO_CHECKOUT / "advisories" / "alpine-secdb").is_dir():
        return _NEXT_TO_CHECKOUT
    return _COPY


ADVISORIES = shared_data() / "advisories"
VERSION_VECTORS = shared_data() / "version-vectors"
