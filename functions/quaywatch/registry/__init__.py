"""Docker/OCI distribution registry client, with the behaviours Quay needs (SPEC section 3)."""

from quaywatch.registry.client import RegistryClient
from quaywatch.registry.reference import ImageReference, Platform

__all__ = ["ImageReference", "Platform", "RegistryClient"]
