"""What every API function shares: the resolver with validation and OpenAPI, error replies
``{"error": {"code", "message"}}``, and access control as route middlewares: ``MEMBER``
routes need a known bearer token, ``ADMIN`` routes an organisation admin's. The caller's
principal is in the resolver's context (``caller(app)``)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from quaywatch.api_errors import NotFound
from quaywatch.errors import QuaywatchError, UsageError
from quaywatch.handlers.preflight import preflight
from quaywatch.handlers.wiring import services
from quaywatch.integrations.connection import ConnectionTestFailed
from quaywatch.integrations.quay_api import QuayApiError
from quaywatch.integrations.service import IntegrationNotFound
from quaywatch.observability import logger
from quaywatch.projects.models import REPOSITORY_PATTERN, TAG_PATTERN
from quaywatch.projects.store import ConcurrentChange
from quaywatch.registry.errors import AuthenticationError, NotFoundError, RegistryError
from quaywatch.runtime.settings import ConfigurationError
from quaywatch.tenancy.access import AuthenticationFailed, Forbidden, Principal


def error(status: int, code: str, message: str) -> Response:
    return Response(status, content_types.APPLICATION_JSON, json.dumps({"error": {"code": code, "message": message}}))


def json_response(status: int, body: Any) -> Response:
    return Response(status, content_types.APPLICATION_JSON, json.dumps(body))


def authenticated(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """Resolve the bearer token to a principal (401 when missing or unknown)."""
    event = app.current_event
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(request_id=(event.request_context.request_id if event.request_context else None))
    authorization = event.headers.get("Authorization") or event.headers.get("authorization")
    app.append_context(principal=services().access.authenticate(authorization))
    return next_middleware(app)


def admin_only(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    caller(app).require_admin()
    return next_middleware(app)


MEMBER = [authenticated]
ADMIN = [authenticated, admin_only]


def caller(app: APIGatewayRestResolver) -> Principal:
    principal = app.context.get("principal")
    if principal is None:  # a route without MEMBER/ADMIN asked for a caller: a bug of ours
        raise AuthenticationFailed("this route does not authenticate")
    return principal


def internal_error(exc: BaseException) -> Response:
    """A fault of ours: logged with its trace, answered with the request id and nothing of
    its type or message (which can name internals)."""
    request_id = uuid.uuid4().hex
    logger.exception("request failed", extra={"error_id": request_id, "type": type(exc).__name__})
    return error(500, "internal", f"quaywatch could not complete this request (error id {request_id}); "
                                  "the operator's logs have the details")


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: Any,
            max_body_bytes: int = 0) -> dict[str, Any]:
    """What each API handler runs: the preflight, then the resolver; never an exception."""
    try:
        refused = preflight(event, max_body_bytes)
        return with_api_headers(refused or app.resolve(event, context))
    except Exception as exc:  # noqa: BLE001 - the last line: a 500 with an id, not a traceback
        response = internal_error(exc)
        return with_api_headers({"statusCode": response.status_code, "headers": {"Content-Type": "application/json"},
                                 "body": response.body, "isBase64Encoded": False})


# Every API answer: never stored by a cache or a browser (new tokens and channel URLs are
# secrets), never sniffed into another type.
API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def with_api_headers(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` (a proxy answer) with API_HEADERS, where the route did not set its own."""
    present = {name.lower() for name in (result.get("headers") or {})}
    present |= {name.lower() for name in (result.get("multiValueHeaders") or {})}
    missing = {name: value for name, value in API_HEADERS.items() if name.lower() not in present}
    if missing:
        if result.get("multiValueHeaders") is not None:
            result["multiValueHeaders"].update({name: [value] for name, value in missing.items()})
        else:
            result["headers"] = {**(result.get("headers") or {}), **missing}
    return result


def create_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response:
        problems = exc.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return error(400, "malformed_json", "the request body is not valid JSON")
        described = "; ".join(
            f"{'.'.join(str(part) for part in p.get('loc', ()) if part != 'body') or 'body'}: {_in_words(p)}"
            for p in problems[:5]
        )
        return error(422, "invalid_request", described)

    @app.exception_handler(AuthenticationFailed)
    def unauthenticated(exc: AuthenticationFailed) -> Response:
        return error(401, "unauthenticated", str(exc))

    @app.exception_handler(Forbidden)
    def forbidden(exc: Forbidden) -> Response:
        return error(403, "forbidden", str(exc))

    @app.exception_handler(IntegrationNotFound)
    @app.exception_handler(NotFound)
    def not_found(exc: QuaywatchError) -> Response:
        return error(404, "not_found", str(exc))

    @app.exception_handler(ConnectionTestFailed)
    def connection_failed(exc: ConnectionTestFailed) -> Response:
        return error(422 if exc.code == "no_repositories" else 400, exc.code, str(exc))

    @app.exception_handler(UsageError)
    def usage(exc: UsageError) -> Response:
        return error(400, "invalid_request", str(exc))

    @app.exception_handler(ConcurrentChange)
    def conflict(exc: ConcurrentChange) -> Response:
        return error(409, "conflict", str(exc))

    @app.exception_handler(AuthenticationError)
    @app.exception_handler(NotFoundError)
    def registry_refused(exc: RegistryError) -> Response:
        return error(422, "registry_refused", str(exc))

    @app.exception_handler(RegistryError)
    @app.exception_handler(QuayApiError)
    def upstream(exc: QuaywatchError) -> Response:
        logger.warning("registry failed", extra={"error": str(exc)})
        return error(502, "upstream_failure", str(exc))

    @app.exception_handler(Exception)
    def internal(exc: Exception) -> Response:
        return internal_error(exc)

    return app


PATTERN_WORDS = {
    REPOSITORY_PATTERN: "is not a repository name (lowercase letters and digits, parts joined by . _ - "
                        "and separated by /, as in myorg/web)",
    TAG_PATTERN: "is not a tag (up to 128 letters, digits, _ . -, not starting with . or -)",
}


def _in_words(problem: dict[str, Any]) -> str:
    """A validation problem as a sentence: a name's grammar instead of its regular expression."""
    pattern = (problem.get("ctx") or {}).get("pattern")
    if problem.get("type") == "string_pattern_mismatch" and pattern in PATTERN_WORDS:
        return PATTERN_WORDS[pattern]
    return str(problem.get("msg")).removeprefix("Value error, ")  # our validators' own words, without pydantic's label


def api_base_url(app: APIGatewayRestResolver) -> str:
    """The public base URL of this API, for the webhook URLs we hand out: the configured one
    (``serve --public-url``, QUAYWATCH_PUBLIC_URL), else the stage URL API Gateway reports.
    Never the request's Host or X-Forwarded-* headers: a client chooses those."""
    configured = services().settings.public_url
    if configured:
        return configured.rstrip("/")
    context = app.current_event.request_context
    if context is None or not context.domain_name:
        raise ConfigurationError("no public URL is configured and API Gateway gave no domain (QUAYWATCH_PUBLIC_URL)")
    prefix = f"/{context.stage}" if context.stage and context.stage != "$default" else ""
    return f"https://{context.domain_name}{prefix}"
