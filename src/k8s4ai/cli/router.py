"""`k8s4ai router`: serve one ContentRouter in the foreground."""

from __future__ import annotations

import contextlib
import dataclasses

import click
import pydantic

from k8s4ai.api import routing
from k8s4ai.cli import context, errors
from k8s4ai.controllers import runner
from k8s4ai.router import app, config, follow, policies, publish
from k8s4ai.store import errors as store_errors
from k8s4ai.store import interface

HELP = """Route OpenAI-compatible requests to inference replicas, following their prompt caches.

\b
Examples:
  k8s4ai router --endpoint http://127.0.0.1:8001 --endpoint http://127.0.0.1:8002
  k8s4ai router --from chat -n ml --port 8080      the ContentRouter `chat` in namespace ml
  k8s4ai router --endpoint URL --policy round-robin --cache-tokens-per-replica 262144

Serves /v1/completions, /v1/chat/completions (streams pass through as they come),
/v1/models, /health and /metrics. Replicas come only from --endpoint or the ContentRouter;
a request cannot choose where it goes. With --from (and no --endpoint) the router follows
the ContentRouter and its InferenceService while it runs: replicas added to or removed from
the service's endpoints join (after a good health probe) or leave without a restart, and
what the router measures (requests/s, TTFT, prefix hits, tokens/s over the last minute) is
written every few seconds into the status of the ContentRouter and of its InferenceService.
"""


def _from_store(store: interface.Store, name: str, namespace: str) -> routing.ContentRouterSpec:
    try:
        return follow.resolve(store, name, namespace)
    except store_errors.StoreError as err:
        raise errors.from_store(err) from None
    except follow.NoReplicasError as err:
        raise errors.CommandError(f"{err}; pass --endpoint to route to replicas directly") from None


@click.command("router", help=HELP)
@click.option("--endpoint", "endpoints", multiple=True, metavar="URL",
              help="Replica base URL, e.g. http://127.0.0.1:8001 (repeatable).")
@click.option("--from", "name", metavar="NAME", help="Serve the ContentRouter of this name.")
@click.option("-n", "--namespace", default="default", show_default=True,
              help="Namespace of --from.")
@click.option("--policy", type=click.Choice(sorted(policies.REGISTRY)),
              help="Routing policy [default: the ContentRouter's, else prefix-cache-aware].")
@click.option("--host", default=app.DEFAULT_HOST, show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535),
              help="Port to bind [default: the ContentRouter's, else 8000].")
@click.option("--cache-tokens-per-replica", type=click.IntRange(1), metavar="TOKENS",
              help="KV-cache tokens each replica holds, so the prefix index forgets as it does.")
@click.option("--block-size", type=click.IntRange(1), metavar="TOKENS",
              help="Tokens per prefix block [default 64].")
@click.option("--chars-per-token", type=click.FloatRange(min=0.1), metavar="N",
              help="Characters per token of the model's tokenizer [default 4, English BPE].")
@click.option("--model", "models", multiple=True, metavar="NAME",
              help="Model every replica serves (repeatable) [default: ask each /v1/models].")
@click.option("--max-body-bytes", type=click.IntRange(1), default=8 * 2**20, show_default=True,
              help="Larger requests are refused with 413.")
@click.option("--request-timeout", type=click.FloatRange(min=0.1), default=600.0,
              show_default=True, help="Seconds a request may take in all.")
@click.option("--health-interval", type=click.FloatRange(min=0.05), default=5.0,
              show_default=True, help="Seconds between health probes of each replica.")
@click.pass_obj
def command(
    target: context.Target,
    endpoints: tuple[str, ...],
    name: str | None,
    namespace: str,
    policy: str | None,
    host: str,
    port: int | None,
    cache_tokens_per_replica: int | None,
    block_size: int | None,
    chars_per_token: float | None,
    models: tuple[str, ...],
    max_body_bytes: int,
    request_timeout: float,
    health_interval: float,
) -> None:
    if name is None and not endpoints:
        raise errors.CommandError("give --endpoint URL (repeatable) or --from NAME")
    updates: dict[str, object] = {}
    if endpoints:
        updates["endpoints"] = list(endpoints)
    if policy is not None:
        updates["policy"] = policy
    if cache_tokens_per_replica is not None:
        updates["cache_tokens_per_replica"] = cache_tokens_per_replica
    if block_size is not None:
        updates["block_size"] = block_size
    if chars_per_token is not None:
        updates["chars_per_token"] = chars_per_token
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(context.connect(target)) if name is not None else None
        try:
            base = (
                _from_store(store, name, namespace)
                if store is not None and name is not None
                else routing.ContentRouterSpec(endpoints=list(endpoints))
            )
            merged = base.model_copy(update=updates).model_dump(by_alias=True)
            spec = routing.ContentRouterSpec.model_validate(merged)
            cfg = dataclasses.replace(
                config.from_spec(spec),
                models=models,
                max_body_bytes=max_body_bytes,
                request_timeout=request_timeout,
                health_interval=health_interval,
            )
        except (pydantic.ValidationError, ValueError) as err:
            raise errors.CommandError(str(err)) from None
        bind = spec.port if port is None else port

        def ready(running: app.Running) -> None:
            click.echo(
                f"routing {len(cfg.endpoints)} replicas with {cfg.policy} on {running.url}",
                err=True,
            )
            if store is None or name is None:
                return
            summary = running.router.metrics.recent.summary
            publisher = publish.Publisher(store, name, namespace, summary, runner.wall_clock)
            stack.callback(publisher.stop)
            publisher.start()
            if endpoints:
                return

            def changed(urls: tuple[str, ...]) -> None:
                running.set_endpoints(urls)
                click.echo(f"replicas of {namespace}/{name} now: {', '.join(urls)}", err=True)

            follower = follow.Follower(store, name, namespace, cfg.endpoints, changed).start()
            stack.callback(follower.stop)

        try:
            with contextlib.suppress(KeyboardInterrupt):
                app.run(cfg, host, bind, ready=ready)
        except OSError as err:
            message = f"cannot listen on {host}:{bind}: {err.strerror}"
            raise errors.CommandError(message) from None
