"""Telling people about new issues: EventBridge, SNS and per-organisation webhook channels."""
