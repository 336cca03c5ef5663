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


DOMAIN = ("registry/", "image/", "inventory/", "scanning/", "versions/", "advisories/", "matching/", "reports/",
          "tenancy/", "integrations/", "projects/", "notifications/", "baseimages/", "distros/", "outcome.py")


def test_domain_packages_never_reach_up_into_the_application() -> None:
    """The domain knows nothing of how it is run: no runtime, use case, handler or CLI import
    (lazy and type-checking imports included)."""
    domain = {path: names for path, names in IMPORTS.items() if path.startswith(DOMAIN)}
    assert _offenders(domain, ("quaywatch.runtime", "quaywatch.usecases", "quaywatch.handlers", "quaywatch.cli")) == {}


def _module(path: str) -> str:
    name = "quaywatch." + path.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def test_no_import_cycles() -> None:
    """Between quaywatch's modules, lazy imports included: a cycle broken by importing inside a
    function is still a cycle of responsibilities (issue 18 removed the last two)."""
    modules = {_module(path) for path in IMPORTS}
    graph = {_module(path): {name for name in names if name in modules and name != _module(path)}
             for path, names in IMPORTS.items()}
    for path in PACKAGE.rglob("*.py"):  # `from quaywatch.x import y` where y is a module too
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                graph[_module(path.relative_to(PACKAGE).as_posix())] |= {
                    f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in modules}
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for following in sorted(graph[node]):
            if following not in index:
                visit(following)
                low[node] = min(low[node], low[following])
            elif following in on_stack:
                low[node] = min(low[node], index[following])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_every_route_goes_through_a_use_case() -> None:
    """Handlers hand ``services()`` to a use case; they never reach into it themselves
    (the shared middleware authenticates through it, in handlers/api.py)."""
    reaching = []
    for path in (PACKAGE / "handlers").glob("*.py"):
        if path.name == "api.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call)
                    and isinstance(node.value.func, ast.Name) and node.value.func.id == "services"):
                reaching.append(f"{path.name}:{node.lineno} services().{node.attr}")
    assert reaching == []


def test_decimal_never_leaves_the_dynamodb_adapter() -> None:
    outside = {path: names for path, names in IMPORTS.items()
               if not path.startswith("adapters/aws/") and path != "adapters/local/legacy_snapshot.py"}
    assert _offenders(outside, ("decimal",)) == {}  # the legacy snapshot reads moto's old files, Decimals and all
