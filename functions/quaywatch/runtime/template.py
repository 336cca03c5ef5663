"""Reading template.yaml: CloudFormation's short-form tags and the few intrinsics we resolve.

The template is the single source of truth: the embedded runtime and the tests create their
tables, queues and topics from it and give each handler the environment the template gives
it, so code and template cannot drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from quaywatch.errors import QuaywatchError

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


class TemplateError(QuaywatchError):
    """template.yaml is missing, malformed, or uses something we cannot resolve."""


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's ``!Ref``, ``!GetAtt``, ``!Sub``... as their long forms."""


def _intrinsic(name: str):
    def construct(loader: _Loader, node: yaml.Node) -> dict:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag, _name in {
    "!Ref": "Ref", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join", "!If": "Fn::If",
    "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!Select": "Fn::Select", "!Split": "Fn::Split",
    "!FindInMap": "Fn::FindInMap", "!ImportValue": "Fn::ImportValue", "!GetAZs": "Fn::GetAZs",
    "!And": "Fn::And", "!Or": "Fn::Or", "!Condition": "Condition",
}.items():
    _Loader.add_constructor(_tag, _intrinsic(_name))


@dataclass
class Template:
    document: dict[str, Any]
    path: Path = DEFAULT_TEMPLATE
    parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None, parameters: dict[str, str] | None = None) -> Template:
        path = path or DEFAULT_TEMPLATE
        try:
            document = yaml.load(path.read_text(), Loader=_Loader)
        except (OSError, yaml.YAMLError) as exc:
            raise TemplateError(f"cannot read {path}: {exc}") from None
        defaults = {
            name: str(spec.get("Default", "")) for name, spec in (document.get("Parameters") or {}).items()
        }
        return cls(document, path, {**defaults, **(parameters or {})})

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.document.get("Resources", {})

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.resources.items() if r.get("Type") == resource_type}

    def functions(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::Serverless::Function")

    def function_environment(self, name: str, physical: PhysicalIds) -> dict[str, str]:
        """The environment a function gets: Globals merged with its own, intrinsics resolved."""
        globals_env = self.document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        own = self.functions()[name].get("Properties", {}).get("Environment", {}).get("Variables", {})
        return {key: str(self.resolve(value, physical)) for key, value in {**globals_env, **own}.items()}

    def parameter_variables(self, name: str) -> dict[str, str]:
        """A function's own variables that are template parameters, at their values (the
        advisory sync's feed settings: what ``serve`` and ``quaywatch advisories sync`` use
        where no variable of the environment says otherwise)."""
        own = self.functions()[name].get("Properties", {}).get("Environment", {}).get("Variables", {})
        return {key: str(self.parameters[value["Ref"]]) for key, value in own.items()
                if isinstance(value, dict) and value.get("Ref") in self.parameters}

    def resolve(self, value: Any, physical: PhysicalIds) -> Any:
        """Resolve Ref / GetAtt / Sub against provisioned resources and parameters."""
        if isinstance(value, dict) and len(value) == 1:
            ((kind, argument),) = value.items()
            if kind == "Ref":
                if argument in self.parameters:
                    return self.parameters[argument]
                if argument in physical.refs:
                    return physical.refs[argument]
                if argument == "AWS::Region":
                    return physical.region
                if argument == "AWS::AccountId":
                    return physical.account
                if argument == "AWS::StackName":
                    return physical.stack
                raise TemplateError(f"template.yaml: cannot resolve Ref {argument}")
            if kind == "Fn::GetAtt":
                resource, attribute = argument
                try:
                    return physical.attributes[resource][attribute]
                except KeyError:
                    raise TemplateError(f"template.yaml: cannot resolve GetAtt {resource}.{attribute}") from None
            if kind == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]

                def substitute(match: re.Match) -> str:
                    name = match[1]
                    if "." in name:
                        resource, attribute = name.split(".", 1)
                        return str(self.resolve({"Fn::GetAtt": [resource, attribute]}, physical))
                    if name == "AWS::Partition":
                        return "aws"
                    if name == "AWS::URLSuffix":
                        return "amazonaws.com"
                    return str(self.resolve({"Ref": name}, physical))

                return re.sub(r"\$\{([^}!]+)\}", substitute, text)
        return value


@dataclass
class PhysicalIds:
    """What provisioning created: Ref values and GetAtt attributes per logical id."""

    region: str
    account: str
    stack: str
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
