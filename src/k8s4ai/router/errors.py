"""Errors in the shape OpenAI clients parse (`{"error": {"message", "type", "param", "code"}}`),
so an SDK raises its usual exception with our message instead of a JSON decode error."""

from __future__ import annotations

from aiohttp import web


def response(
    status: int, message: str, kind: str, code: str, param: str | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(body, status=status)


def bad_request(message: str, param: str | None = None) -> web.Response:
    return response(400, message, "invalid_request_error", "invalid_request", param)


def too_large(limit: int) -> web.Response:
    return response(
        413,
        f"request body is larger than the router's limit of {limit} bytes",
        "invalid_request_error",
        "request_too_large",
    )


def unknown_model(model: str, known: set[str]) -> web.Response:
    listed = ", ".join(sorted(known)) or "none"
    return response(
        404,
        f"The model `{model}` does not exist or no replica serves it (served: {listed})",
        "invalid_request_error",
        "model_not_found",
        "model",
    )


def unavailable(message: str) -> web.Response:
    return response(503, message, "service_unavailable", "no_healthy_replica")


def upstream_failed(message: str) -> web.Response:
    return response(502, message, "upstream_error", "upstream_failed")


def timed_out(message: str) -> web.Response:
    return response(504, message, "timeout", "upstream_timeout")
