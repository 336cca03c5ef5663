"""The Lambda package (``functions/`` plus ``functions/requirements.txt``, as ``sam build``
makes it) holds what the handlers need and nothing of the CLI or the tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from quaywatch.runtime.template import Template

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_REQUIREMENTS = ROOT / "functions" / "requirements.txt"
NOT_IN_LAMBDA = {"click", "rich", "pygments", "moto", "pytest", "tests", "cryptography", "croniter"}
# Packaged, but imported only when used (adapters, the tracer on Lambda): a cold start pays for
# what a function uses, and the CLI and ``serve`` never pay the X-Ray SDK's ~0.3 s. (Powertools
# imports the ``botocore`` package itself, 1.5 ms, to register its user agent when it is there.)
NOT_AT_START = NOT_IN_LAMBDA | {"boto3", "aws_xray_sdk"}


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line)
        if match:
            pins[match[1].lower()] = match[2]
    return pins


def test_lambda_requirements_pin_what_pyproject_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _pins(project["dependencies"])
    lambda_pins = _pins(LAMBDA_REQUIREMENTS.read_text().splitlines())
    assert lambda_pins, "functions/requirements.txt pins nothing"
    for name, version in lambda_pins.items():
        assert declared.get(name) == version, f"{name}: {version} in functions/requirements.txt, {declared.get(name)} in pyproject"
    assert not set(lambda_pins) & NOT_IN_LAMBDA
    assert "moto" not in " ".join(project["dependencies"])  # a test extra only


def build_lambda_package(target: Path) -> Path:
    """What ``sam build`` puts in the zip: the requirements (no bytecode) and our package."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check",
                    "--target", str(target), "-r", str(LAMBDA_REQUIREMENTS)], check=True, capture_output=True)
    shutil.copytree(ROOT / "functions" / "quaywatch", target / "quaywatch",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    return target


@pytest.fixture(scope="module")
def lambda_package(tmp_path_factory) -> Path:
    """Built once for the tests below (pip installs the requirements: seconds)."""
    return build_lambda_package(tmp_path_factory.mktemp("lambda") / "package")


def import_handlers(package: Path, then: str, environment: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Import every handler of template.yaml from ``package`` alone, then run ``then``: ``-I``
    (no environment variables of Python's, no user site) and ``-S`` (no site-packages), so
    only the standard library and the package can be imported."""
    handlers = sorted({f["Properties"]["Handler"].rsplit(".", 1)[0] for f in Template.load().functions().values()})
    probe = (f"import sys\nsys.path.insert(0, {str(package)!r})\n"
             f"for name in {handlers!r}:\n    __import__(name)\n{then}")
    return subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, timeout=120,
                          env=environment)


@pytest.mark.slow
def test_every_handler_imports_from_the_package_alone(lambda_package) -> None:
    result = import_handlers(lambda_package, "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n")
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "quaywatch" in loaded and not loaded & NOT_AT_START, loaded & NOT_AT_START


@pytest.mark.slow
def test_on_lambda_the_tracer_loads_from_the_package_alone(lambda_package) -> None:
    """With ``AWS_LAMBDA_FUNCTION_NAME`` set, as on Lambda, every handler builds its tracer:
    the X-Ray SDK and the botocore it patches come from the package, nothing else."""
    package = str(lambda_package)
    result = import_handlers(lambda_package, (
        "import aws_xray_sdk, botocore, boto3\n"
        f"assert all(m.__file__.startswith({package!r}) for m in (aws_xray_sdk, botocore, boto3))\n"
        "print('ok')\n"), {"AWS_LAMBDA_FUNCTION_NAME": "probe", "AWS_REGION": "eu-west-1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
