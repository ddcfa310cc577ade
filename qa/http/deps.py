"""FastAPI dependencies shared by the routers: the Service (one per app, in `app.state.service`), its
Config, the API-key guard and the checks of common request options."""

from __future__ import annotations

from fastapi import Depends, Request

from qa.errors import InvalidInput
from qa.http.security import authenticate


def get_service(request: Request):
    """The app's qa.service.Service."""
    return request.app.state.service


def get_config(request: Request):
    return request.app.state.service.config


async def require_key(request: Request, config=Depends(get_config)) -> None:
    """With GROUNDQA_API_KEY set, every /v1 route needs `Authorization: Bearer <key>`; wrong keys are throttled
    per client (429 with Retry-After past GROUNDQA_AUTH_FAILURES in GROUNDQA_AUTH_WINDOW_S)."""
    authenticate(request, config)


def known_generators(service) -> set[str]:
    return set(service.generator_names())


def check_top_k(k: int | None) -> int | None:
    if k is not None and not 1 <= k <= 50:  # the service reads 0 as "default"; here it is a mistake
        raise InvalidInput(f"top_k must be an integer from 1 to 50, got {k!r}.")
    return k


def check_generator(service, name: str | None) -> str | None:
    if name is not None and name not in known_generators(service):
        names = ", ".join(sorted(known_generators(service)))
        raise InvalidInput(f"Unknown generator {name!r}: choose one of {names}.")
    return name
