"""OpenVEX's justifications for "not affected" (spec v0.2.0), the labels ignores may carry."""

from __future__ import annotations

JUSTIFICATIONS = ("component_not_present", "vulnerable_code_not_present", "vulnerable_code_not_in_execute_path",
                  "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist")
