"""A local copy of one kind of object, kept current by list then watch, as client-go's
reflector does.

The watch starts from the list's resourceVersion and, each time the server ends the
stream (its timeout, a restart, a dropped connection), resumes from the last version
seen, so no change is missed and none is applied twice. When the server no longer has
that version (410 Gone: its history was compacted), the copy is relisted whole.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import kr8s

from k8s4ai.backends.kubernetes import calls, transport

Key = tuple[str | None, str]


class GoneError(Exception):
    """The version to resume from is older than the server's history."""


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj["metadata"]
    return meta.get("namespace"), meta["name"]


class Reflector:
    def __init__(
        self,
        api: kr8s.asyncio.Api,
        list_call: calls.ApiCall,
        watch_call: calls.ApiCall,
        url: str,
        on_change: Callable[[], None],
        version: str = "v1",
        backoff_seconds: float = 1.0,
    ) -> None:
        self._api = api
        self._list_call, self._watch_call = list_call, watch_call
        self._url, self._version = url, version
        self._on_change = on_change
        self._backoff = backoff_seconds
        self.objects: dict[Key, dict[str, Any]] = {}
        self.resource_version = ""
        self.lists = 0
        self.watches = 0
        self.synced = asyncio.Event()

    async def relist(self) -> None:
        listed = await transport.request(
            self._api, self._list_call, "GET", self._url, version=self._version
        )
        self.objects = {key_of(o): o for o in listed.get("items") or []}
        self.resource_version = str((listed.get("metadata") or {}).get("resourceVersion", ""))
        self.lists += 1
        self.synced.set()
        self._on_change()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if not self.synced.is_set():
                    await self.relist()
                await self._watch()
            except GoneError:
                self.synced.clear()
            except transport.API_FAILURES as err:
                if isinstance(err, kr8s.ServerError) and _gone(err):
                    self.synced.clear()
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._backoff)

    async def _watch(self) -> None:
        self.watches += 1
        params = {"resourceVersion": self.resource_version, "allowWatchBookmarks": "true"}
        async for event in transport.watch(
            self._api, self._watch_call, self._url, params, version=self._version
        ):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    raise GoneError(obj.get("message", ""))
                return
            version = str((obj.get("metadata") or {}).get("resourceVersion", ""))
            if kind != "BOOKMARK":
                if kind == "DELETED":
                    self.objects.pop(key_of(obj), None)
                else:
                    self.objects[key_of(obj)] = obj
            if version:
                self.resource_version = version
            if kind != "BOOKMARK":
                self._on_change()


def _gone(err: kr8s.ServerError) -> bool:
    return err.response is not None and err.response.status_code == 410
