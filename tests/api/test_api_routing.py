"""``ApiRoute``: a sync endpoint runs in a worker thread, its response is validated on the loop."""

from __future__ import annotations

import inspect
import threading
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel, field_validator

from edgewatch.api.app import create_app
from edgewatch.api.routing import ApiRoute
from edgewatch.config import Settings


def test_a_sync_endpoint_crosses_to_a_worker_thread_once() -> None:
    threads: dict[str, int] = {}

    class Out(BaseModel):
        value: int

        @field_validator("value")
        @classmethod
        def note_thread(cls, value: int) -> int:
            threads["validated"] = threading.get_ident()
            return value

    async def note_loop_thread() -> None:
        threads["loop"] = threading.get_ident()

    router = APIRouter(route_class=ApiRoute)

    @router.get("/value", response_model=Out, dependencies=[Depends(note_loop_thread)])
    def value() -> Any:
        # A dict, so FastAPI validates it against the response model.
        threads["endpoint"] = threading.get_ident()
        return {"value": 7}

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        response = client.get("/value")

    assert response.json() == {"value": 7}
    assert threads["endpoint"] != threads["loop"]
    assert threads["validated"] == threads["loop"]


def test_every_api_route_is_an_api_route_with_a_coroutine_endpoint(settings: Settings) -> None:
    app = create_app(settings)
    api_routes = [
        context.original_route
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and context.path.startswith(("/api/", "/auth", "/health"))
    ]
    assert len(api_routes) > 30
    for route in api_routes:
        assert isinstance(route, ApiRoute), route.path
        assert inspect.iscoroutinefunction(route.endpoint), route.path
