"""The OpenVEX v0.2.0 JSON schema (tests/fixtures/openvex, from the spec's repository): every
OpenVEX document quaywatch writes is checked against it."""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "openvex" / "openvex_json_schema.json")
                    .read_text())
