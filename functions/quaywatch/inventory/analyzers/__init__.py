"""All inventory analyzers, in the order they are offered each file."""

from quaywatch.inventory.analyzers.apk import ApkAnalyzer, ApkRepositoriesAnalyzer
from quaywatch.inventory.analyzers.base import Analyzer
from quaywatch.inventory.analyzers.content_sets import ContentSetsAnalyzer
from quaywatch.inventory.analyzers.dpkg import DpkgAnalyzer
from quaywatch.inventory.analyzers.golang import GoBinaryAnalyzer
from quaywatch.inventory.analyzers.java import JavaArchiveAnalyzer
from quaywatch.inventory.analyzers.npm import NpmPackageAnalyzer
from quaywatch.inventory.analyzers.osrelease import OsReleaseAnalyzer
from quaywatch.inventory.analyzers.python import PythonPackageAnalyzer
from quaywatch.inventory.analyzers.rpm import RpmDatabaseAnalyzer


def default_analyzers() -> list[Analyzer]:
    """A fresh instance of every analyzer quaywatch ships."""
    return [
        OsReleaseAnalyzer(),
        DpkgAnalyzer(),
        ApkAnalyzer(),
        ApkRepositoriesAnalyzer(),
        RpmDatabaseAnalyzer(),
        ContentSetsAnalyzer(),
        PythonPackageAnalyzer(),
        NpmPackageAnalyzer(),
        JavaArchiveAnalyzer(),
        GoBinaryAnalyzer(),
    ]


__all__ = ["Analyzer", "default_analyzers"]
