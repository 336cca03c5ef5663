"""Base images (issue 10): link a Dockerfile, name the organisation's base repositories,
detect a project's base and recommend better tags (recomputed at each test)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from quaywatch.api_errors import NotFound
from quaywatch.baseimages.dockerfile import MAX_SIZE, final_base, parse_image_name
from quaywatch.baseimages.layers import base_layer_count, mark_from_base
from quaywatch.errors import QuaywatchError, UsageError
from quaywatch.integrations.url_policy import check_registry_url
from quaywatch.observability import logger
from quaywatch.projects.models import REPOSITORY_PATTERN
from quaywatch.projects.records import LinkedDockerfile, Project
from quaywatch.projects.retests import enqueue_retests
from quaywatch.runtime.services import Services
from quaywatch.tenancy.access import Principal

if TYPE_CHECKING:  # the scanning side is loaded only by the workers that compute a report
    from quaywatch.baseimages.service import BaseTag, Source


class DockerfileLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The size limit (MAX_SIZE) is the reader's, refused with its line-numbered message.
    content: str = Field(min_length=1, description=f"the Dockerfile's text (at most {MAX_SIZE // 1024} KiB)")


class BaseSource(BaseModel):
    """Repositories of an integration (its robot's credentials), or of a public registry read
    anonymously (``registry``: its https URL)."""

    model_config = ConfigDict(extra="forbid")

    integration_id: str | None = Field(None, min_length=1, max_length=64)
    registry: str | None = Field(None, min_length=8, max_length=300, description="a public registry's URL")
    repositories: list[Annotated[str, Field(min_length=1, max_length=255, pattern=REPOSITORY_PATTERN)]] = Field(
        min_length=1, max_length=100, description="repository names as /imports takes them (myorg/python)")

    @model_validator(mode="after")
    def one_origin(self) -> BaseSource:
        if (self.integration_id is None) == (self.registry is None):
            raise ValueError("give either integration_id or registry")
        return self


class BaseSources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[BaseSource] = Field(max_length=20)


def link_dockerfile(services: Services, caller: Principal, project_id: str, request: DockerfileLink) -> dict[str, Any]:
    """Store the Dockerfile once it reads (a DockerfileError names the line) and re-test the
    project, which detects the base and recommends tags."""
    services.projects.for_principal(caller, project_id)
    base = final_base(request.content)
    dockerfile = LinkedDockerfile(content=request.content, base=str(base.image) if base.image else "scratch",
                                  from_line=base.line, linked_by=caller.user_id, linked_at=_now())
    services.projects.set_fields(project_id, {"dockerfile": dockerfile})
    enqueue_retests(services.retest_queue, [project_id], "dockerfile")
    return {"project_id": project_id, "base": dockerfile.base, "from_line": base.line}


def unlink_dockerfile(services: Services, caller: Principal, project_id: str) -> None:
    project = services.projects.for_principal(caller, project_id)
    if project.dockerfile is None:
        raise NotFound(f"project {project_id} has no Dockerfile linked")
    services.projects.set_fields(project_id, {"dockerfile": None})
    enqueue_retests(services.retest_queue, [project_id], "dockerfile")


def set_base_sources(services: Services, caller: Principal, request: BaseSources) -> dict[str, Any]:
    caller.require_admin()
    for source in request.sources:
        if source.integration_id is not None:
            integration = services.integrations.by_id(source.integration_id)
            if integration is None or integration.org_id != caller.org_id:
                raise NotFound(f"no integration {source.integration_id}")
        else:
            check_registry_url(str(source.registry), services.settings.allow_private_registries)
    sources = [source.model_dump(exclude_none=True) for source in request.sources]
    services.access.set_base_sources(caller.org_id, sources)
    return {"sources": sources}


def get_base_sources(services: Services, caller: Principal) -> dict[str, Any]:
    return {"sources": services.access.base_sources(caller.org_id)}


def base_image_view(services: Services, caller: Principal, project_id: str) -> dict[str, Any]:
    project = services.projects.for_principal(caller, project_id)
    report = project.base_image
    if not report or not report.get("base"):
        reason = (report or {}).get("reason") or (
            "no base image known yet: link a Dockerfile (PUT /projects/{id}/dockerfile) or name the organisation's "
            "base repositories (PUT /organisation/base-images), then test the project")
        raise NotFound(reason)
    latest = services.findings.latest(project_id)
    share = {"base": 0, "own": 0}
    if latest is not None and report["base"].get("layers"):
        mark_from_base(latest.findings, latest.inventory.image, report["base"]["layers"])
        for finding in latest.findings:
            if finding.ignored is None:
                share["base" if finding.from_base else "own"] += 1
    public_base = {k: v for k, v in report["base"].items() if k != "source"}
    return {"base": public_base, "recommendations": report["recommendations"], "findings": share,
            "computed_at": report["computed_at"]}


def refresh_base_image(services: Services, project_id: str) -> dict[str, Any] | None:
    """Detect the project's base, scan it and its candidate tags, store the report on the
    project and notify when a better tag appeared since the last report. Best effort: a
    failure is logged and the previous report kept (the test itself has succeeded)."""
    project = services.projects.get(project_id)
    if project is None:
        return None
    sources = services.access.base_sources(project.org_id)
    if not sources and project.dockerfile is None:
        return None
    try:
        report = _report(services, project, sources)
    except QuaywatchError as exc:
        logger.warning("base image not computed", extra={"project_id": project_id, "error": str(exc)})
        return None
    fresh = services.projects.get(project_id) or project
    before = fresh.base_image or {}
    if not services.projects_repository.update(project_id, {"base_image": report}):
        return None  # deleted meanwhile
    fresh = fresh.changed({"base_image": report})
    # Told when a better tag appears for a base already known (the first report is the baseline).
    same_base = bool(before.get("base") and report.get("base")
                     and before["base"]["repository"] == report["base"]["repository"])
    known = {r["tag"] for r in before.get("recommendations", [])} | ({before["base"]["tag"]} if same_base else set())
    new = [r for r in report.get("recommendations", []) if r["tag"] not in known]
    if same_base and new:
        services.notifier.better_base(fresh, report["base"], new)
    return report


def _report(services: Services, project: Project, stored: list[dict[str, Any]]) -> dict[str, Any]:
    latest = services.findings.latest(project.id)
    if latest is None:
        return {"base": None, "reason": "the project has not been tested yet", "computed_at": _now()}
    image = latest.inventory.image
    sources = services.base_images.sources(stored)
    base: BaseTag | None = None
    source: Source | None = None
    dockerfile = project.dockerfile
    if dockerfile and dockerfile.base == "scratch":
        return {"base": None, "reason": "the Dockerfile builds FROM scratch: there is no base image", "computed_at": _now()}
    if dockerfile:
        named = parse_image_name(dockerfile.base)
        source = services.base_images.source_for(named, sources)
        if source is None:
            return {"base": None, "computed_at": _now(),
                    "reason": f"the Dockerfile's base {dockerfile.base} is not in the organisation's base image sources"}
        if named.tag is None:
            raise UsageError(f"the Dockerfile's base {dockerfile.base} is pinned by digest only; name a tag")
        base = services.base_images.resolve(source, named.repository, named.tag, image.platform)
        detected_by = "dockerfile"
    else:
        detected = services.base_images.detect_by_layers(image.diff_ids, image.platform, sources, image.digest)
        if detected is None:
            return {"base": None, "reason": "no base image source shares this image's first layers",
                    "computed_at": _now()}
        source, base = detected
        detected_by = "layers"
    current, recommendations = services.base_images.recommend(source, base, image.platform)
    return {"base": {"repository": base.repository, "tag": base.tag, "digest": base.digest, "detected_by": detected_by,
                     "issue_counts": current.issue_counts, "source": base.source,
                     "layers": base_layer_count(image.diff_ids, base.diff_ids)},
            "recommendations": recommendations, "computed_at": _now()}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
