"""Quay integrations: a registry URL, a robot account, its secret in Secrets Manager."""
