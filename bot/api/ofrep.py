"""OpenFeature endpoints: OFREP evaluation (open-feature/protocol, service/openapi.yaml) and the
flagd.json export, for the default environment and for every configured one under /envs/{env}.

Every request reads the environment's snapshot after it arrived, checked against the version row
all processes share, so a kill switch committed anywhere is seen by the very next request here:
on a SQLite file through `Snapshots.current_without_waiting` when that needs no waiting (the
thread hop would cost more than the read), otherwise `Snapshots.current` in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.api.auth import guarded
from bot.flags.evaluation import (
    FLAG_NOT_FOUND,
    INVALID_CONTEXT,
    Evaluation,
    context_problem,
    evaluate,
    evaluate_all,
    flagd_document,
)
from bot.flags.model import FlagSnapshot
from bot.flags.snapshots import Snapshots
from bot.runtime import Runtime

PARSE_ERROR = "PARSE_ERROR"


class BadRequest(Exception):
    """A body OFREP cannot evaluate: `code` is PARSE_ERROR or INVALID_CONTEXT."""

    def __init__(self, code: str, details: str):
        super().__init__(details)
        self.code = code
        self.details = details


def _json(data: object, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status_code, headers=headers, media_type="application/json")


def evaluation_json(result: Evaluation) -> dict:
    """An OFREP evaluationSuccess, or an evaluationFailure (flagNotFound included). A flag that
    defers to the caller's default (DISABLED, or DEFAULT without a default variant) is OFREP's
    codeDefaultFlag: no `value`. Its `variant` is null rather than absent, because the Python
    OFREP provider (0.3) reads `variant` unconditionally and would turn the answer into an error."""
    if result.error_code is None:
        answer = {"key": result.key, "reason": result.reason, "variant": result.variant}
        if not result.code_default:
            answer["value"] = result.value
    else:
        answer = {"key": result.key, "errorCode": result.error_code, "errorDetails": result.error_details}
    if result.metadata:
        answer["metadata"] = result.metadata
    return answer


async def read_context(request: Request) -> dict:
    """The `context` object of an OFREP request body; BadRequest when there is none to use."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise BadRequest(PARSE_ERROR, f"the body is not JSON ({exc}); send {{\"context\": {{\"targetingKey\": \"...\"}}}}") from None
    if not isinstance(body, dict) or "context" not in body:
        raise BadRequest(INVALID_CONTEXT, 'the body must be a JSON object with a "context" object')
    context = body["context"]
    problem = context_problem(context)
    if problem:
        raise BadRequest(INVALID_CONTEXT, problem)
    return context


_document_tags: dict[str, tuple[FlagSnapshot, str]] = {}


def document_etag(snapshot: FlagSnapshot) -> str:
    """The environment's own tag: a digest of its definitions and evaluators, so a change in
    another environment (which bumps the shared version) leaves it as it is."""
    cached = _document_tags.get(snapshot.environment)
    if cached is not None and cached[0] is snapshot:
        return cached[1]
    content = {"flags": snapshot.flags, "$evaluators": snapshot.evaluators}
    tag = hashlib.blake2b(orjson.dumps(content, option=orjson.OPT_SORT_KEYS), digest_size=10).hexdigest()
    _document_tags[snapshot.environment] = (snapshot, tag)
    return tag


def bulk_etag(snapshot: FlagSnapshot, context: dict) -> str:
    """Changes with any change to the environment's flags and with the context evaluated."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(orjson.dumps(context, option=orjson.OPT_SORT_KEYS))
    return f'"{document_etag(snapshot)}-{digest.hexdigest()}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match as HTTP has it: a list of tags, weak ones (W/) included, or *."""
    if not if_none_match:
        return False
    return any(tag.strip().removeprefix("W/") in (etag, "*") for tag in if_none_match.split(","))


class SharedReads:
    """`Snapshots.current` in a worker thread, one read at a time per environment: the requests
    that arrive while a read runs wait for the next one, which starts after they arrived, so
    each still gets a snapshot checked against the version row after it came in, and a busy
    endpoint makes one thread hop and one version read per batch instead of per request."""

    def __init__(self, snapshots: Snapshots):
        self.snapshots = snapshots
        self._waiting: dict[str, asyncio.Future[FlagSnapshot]] = {}
        self._readers: dict[str, asyncio.Task] = {}

    async def current(self, environment: str) -> FlagSnapshot:
        waiting = self._waiting.get(environment)
        if waiting is None:
            waiting = self._waiting[environment] = asyncio.get_running_loop().create_future()
            if environment not in self._readers:
                self._readers[environment] = asyncio.create_task(self._read(environment))
        return await asyncio.shield(waiting)  # a client that goes away cancels only its own wait

    async def _read(self, environment: str) -> None:
        try:
            while (waiting := self._waiting.pop(environment, None)) is not None:
                try:
                    waiting.set_result(await asyncio.to_thread(self.snapshots.current, environment))
                except asyncio.CancelledError:
                    waiting.cancel()  # the loop is closing: its requests end with it
                    raise
                except Exception as exc:
                    waiting.set_exception(exc)
        finally:
            del self._readers[environment]


def routes(runtime: Runtime) -> list[Route]:
    environments = runtime.config.flags.environments
    default_environment = runtime.config.flags.default_environment
    reads = SharedReads(runtime.flag_snapshots)

    def unknown_environment(request: Request) -> str | None:
        env = request.path_params.get("env", default_environment)
        if env in environments:
            return None
        return f"unknown environment {env!r}; environments: {', '.join(environments)}"

    async def snapshot_of(request: Request) -> FlagSnapshot:
        environment = request.path_params.get("env", default_environment)
        snapshot = runtime.flag_snapshots.current_without_waiting(environment)
        return snapshot if snapshot is not None else await reads.current(environment)

    async def evaluate_flag(request: Request) -> Response:
        key = request.path_params["key"]
        unknown = unknown_environment(request)
        if unknown:
            return _json({"key": key, "errorCode": FLAG_NOT_FOUND, "errorDetails": unknown}, 404)
        try:
            context = await read_context(request)
        except BadRequest as bad:
            return _json({"key": key, "errorCode": bad.code, "errorDetails": bad.details}, 400)
        result = evaluate(await snapshot_of(request), key, context)
        status = 200 if result.error_code is None else 404 if result.error_code == FLAG_NOT_FOUND else 400
        return _json(evaluation_json(result), status)

    async def evaluate_flags(request: Request) -> Response:
        unknown = unknown_environment(request)
        if unknown:
            return _json({"errorCode": "GENERAL", "errorDetails": unknown}, 404)
        try:
            context = await read_context(request)
        except BadRequest as bad:
            return _json({"errorCode": bad.code, "errorDetails": bad.details}, 400)
        snapshot = await snapshot_of(request)
        etag = bulk_etag(snapshot, context)
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers={"ETag": etag})
        body = {
            "flags": [evaluation_json(result) for result in evaluate_all(snapshot, context)],
            "metadata": {"environment": snapshot.environment, "version": snapshot.version},
        }
        return _json(body, headers={"ETag": etag})

    async def flagd_json(request: Request) -> Response:
        unknown = unknown_environment(request)
        if unknown:
            return _json({"error": "unknown_environment", "detail": unknown, "environments": environments}, 404)
        snapshot = await snapshot_of(request)
        etag = f'"{document_etag(snapshot)}"'
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers={"ETag": etag})
        return _json(flagd_document(snapshot), headers={"ETag": etag})

    return [
        Route("/ofrep/v1/evaluate/flags/{key}", guarded(runtime.env.api_token, evaluate_flag), methods=["POST"]),
        Route("/ofrep/v1/evaluate/flags", guarded(runtime.env.api_token, evaluate_flags), methods=["POST"]),
        Route("/envs/{env}/ofrep/v1/evaluate/flags/{key}", guarded(runtime.env.api_token, evaluate_flag), methods=["POST"]),
        Route("/envs/{env}/ofrep/v1/evaluate/flags", guarded(runtime.env.api_token, evaluate_flags), methods=["POST"]),
        Route("/envs/{env}/flagd.json", guarded(runtime.env.api_token, flagd_json), methods=["GET"]),
    ]
