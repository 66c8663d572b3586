"""What every API request is given: the context, the clock, the authenticated principal, and
the request as the access log names it (`Asked`, which the use cases log).

The principal comes from the bearer token alone (`Authorization: Bearer sf_…`, issued by
`sagsflow user token NAME`): its user's name is the actor and its role the role of every event
recorded, whatever a body says. A missing, unknown or revoked token, or one of a disabled user,
is a 401 with `WWW-Authenticate: Bearer` (RFC 6750).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sagsflow.api.problems import ApiProblem, words_of
from sagsflow.context import Context
from sagsflow.present.i18n import Translator
from sagsflow.usecases.access import Asked
from sagsflow.usecases.users import authenticate_token
from statemachine.visibility import Channel, Principal

REALM = 'Bearer realm="sagsflow"'

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="sf_…",
    description="A token from `sagsflow user token NAME`; the token's user acts.",
)


def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


def clock(context: Annotated[Context, Depends(get_context)]) -> datetime:
    """The edge reads the context's clock, once per request; the domain is given `now`."""
    return context.clock()


def get_principal(
    context: Annotated[Context, Depends(get_context)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise ApiProblem(
            401, "unauthorized", key="problem.token_missing", headers={"WWW-Authenticate": REALM}
        )
    principal = authenticate_token(context, credentials.credentials)
    if principal is None:
        raise ApiProblem(
            401,
            "unauthorized",
            key="problem.token_invalid",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    return principal


def get_words(request: Request) -> Translator:
    """The language of the answer's words: what `Accept-Language` prefers (Danish by default)."""
    return words_of(request)


ContextDep = Annotated[Context, Depends(get_context)]
WordsDep = Annotated[Translator, Depends(get_words)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
NowDep = Annotated[datetime, Depends(clock)]


def asked(request: Request, now: NowDep) -> Asked:
    """The request as the access log names it ("GET /api/v1/cases/7"), at the request's now."""
    return Asked.http(Channel.API, request.method, request.url.path, request.url.query, now)


AskedDep = Annotated[Asked, Depends(asked)]
