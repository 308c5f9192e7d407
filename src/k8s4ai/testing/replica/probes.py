"""What routers ask of a replica besides generating: sglang-router reads `/server_info` and
`/model_info` (or their `get_` forms) when it starts, and loads a tokenizer from the model
path they report; vllm-router posts every request to `/v1/completions/render` (falling
back to `/tokenize`) before sending it. `/reset_prefix_cache` (vLLM) and `/flush_cache`
(SGLang) empty the prefix cache, so a benchmark can start each run cold."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from k8s4ai.testing.replica import protocol, state, tokens


def routes(replica: state.Replica) -> list[Route]:
    config = replica.config
    folder = config.model_path or config.model

    async def render(request: Request, chat: bool) -> Response:
        data = await replica.read_json(request)
        model = protocol.check_model(data, config.model)
        found = protocol.prompt_tokens(data, chat)
        rendered = {
            "request_id": replica.next_id("chatcmpl" if chat else "cmpl"),
            "model": model,
            "token_ids": tokens.ids(found),
            "sampling_params": {"max_tokens": data.get("max_tokens")},
        }
        return JSONResponse([rendered])

    async def render_completions(request: Request) -> Response:
        return await render(request, chat=False)

    async def render_chat(request: Request) -> Response:
        return await render(request, chat=True)

    async def tokenize(request: Request) -> Response:
        data = await replica.read_json(request)
        protocol.check_model(data, config.model)
        found = protocol.prompt_tokens(data, "messages" in data)
        return JSONResponse(
            {
                "count": len(found),
                "max_model_len": config.max_model_len,
                "tokens": tokens.ids(found),
                "token_strs": None,
            }
        )

    async def model_info(request: Request) -> Response:
        return JSONResponse(
            {
                "model_path": folder,
                "tokenizer_path": folder,
                "served_model_name": config.model,
                "is_generation": True,
                "preferred_sampling_params": None,
            }
        )

    async def server_info(request: Request) -> Response:
        return JSONResponse(
            {
                "model_path": folder,
                "tokenizer_path": folder,
                "served_model_name": config.model,
                "context_length": config.max_model_len,
                "max_running_requests": config.latency.max_running,
                "max_total_num_tokens": config.cache_blocks * tokens.BLOCK_TOKENS,
                "page_size": tokens.BLOCK_TOKENS,
                "version": "k8s4ai-mock-replica",
            }
        )

    async def reset_cache(request: Request) -> Response:
        replica.engine.cache.clear()
        return Response(status_code=200)

    counted = replica.counted
    return [
        Route("/v1/completions/render", counted("render", render_completions), methods=["POST"]),
        Route("/v1/chat/completions/render", counted("render", render_chat), methods=["POST"]),
        Route("/tokenize", counted("tokenize", tokenize), methods=["POST"]),
        Route("/model_info", counted("info", model_info), methods=["GET"]),
        Route("/get_model_info", counted("info", model_info), methods=["GET"]),
        Route("/server_info", counted("info", server_info), methods=["GET"]),
        Route("/get_server_info", counted("info", server_info), methods=["GET"]),
        Route("/reset_prefix_cache", counted("reset", reset_cache), methods=["POST"]),
        Route("/flush_cache", counted("reset", reset_cache), methods=["GET", "POST"]),
    ]
