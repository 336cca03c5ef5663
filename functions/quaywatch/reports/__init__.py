"""Renderings of an inventory for people (table) and programs (JSON, CycloneDX)."""
