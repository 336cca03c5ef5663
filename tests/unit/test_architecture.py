"""The layout tells the architecture, and these rules keep it true (read from the source's
import statements, lazy imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "quaywatch"
AWS_SDK = ("boto3", "botocore", "moto")
COMPOSITION_ROOTS = ("runtime/lambda_root.py", "runtime/embedded/root.py", "cli/")


def _imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[path.relative_to(PACKAGE).as_posix()] = names
    return found


IMPORTS = _imports()


def _offenders(modules: dict[str, set[str]], prefixes: tuple[str, ...]) -> dict[str, list[str]]:
    return {path: sorted(n for n in names if n.split(".")[0] in prefixes or n.startswith(prefixes))
            for path, names in modules.items() if any(n.split(".")[0] in prefixes or n.startswith(prefixes) for n in names)}


def test_only_the_aws_adapters_touch_the_aws_sdk() -> None:
    outside = {path: names for path, names in IMPORTS.items() if not path.startswith("adapters/aws/")}
    assert _offenders(outside, AWS_SDK) == {}
    assert _offenders(IMPORTS, ("moto",)) == {}  # moto is for tests only


def test_only_composition_roots_choose_adapters() -> None:
    outside = {path: names for path, names in IMPORTS.items()
               if not path.startswith(("adapters/", *COMPOSITION_ROOTS))}
    assert _offenders(outside, ("quaywatch.adapters",)) == {}


def test_handlers_and_use_cases_stay_off_the_sdk_and_the_cli() -> None:
    for layer in ("handlers/", "usecases/"):
        modules = {path: names for path, names in IMPORTS.items() if path.startswith(layer)}
        assert _offenders(modules, ("quaywatch.cli", "click", "rich", *AWS_SDK)) == {}, layer


def test_inventory_does_not_depend_on_image_analysis() -> None:
    """The layer walker (image/) feeds the analyzers (inventory/), never the other way."""
    inventory = {path: names for path, names in IMPORTS.items() if path.startswith("inventory/")}
    assert _offenders(inventory, ("quaywatch.image", "quaywatch.scanning")) == {}
