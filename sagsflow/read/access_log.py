"""The access log as the auditor reads it: who read or changed which case, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, cast

from sqlalchemy import select

from models.database import reading
from models.repository import ACCESS_LOG
from sagsflow.context import Context
from statemachine.visibility import Action


class AccessLogged(TypedDict):
    """One row of the access log (`GET /api/v1/access-log`, `sagsflow access log`)."""

    id: int
    at: datetime
    user_name: str
    role: str
    case_id: int | None  # None: a list or report over many cases
    action: str
    channel: str
    what: str


def access_log(
    context: Context,
    *,
    case_id: int | None = None,
    user: str | None = None,
    limit: int = 200,
    offset: int = 0,
    action: Action | None = None,
) -> list[AccessLogged]:
    """The access log, newest first; `limit`/`offset` page through it."""
    query = select(ACCESS_LOG).order_by(ACCESS_LOG.c.id.desc()).limit(limit)
    if offset:
        query = query.offset(offset)
    if case_id is not None:
        query = query.where(ACCESS_LOG.c.case_id == case_id)
    if user is not None:
        query = query.where(ACCESS_LOG.c.user_name == user)
    if action is not None:
        query = query.where(ACCESS_LOG.c.action == action.value)
    with reading(context.engine) as connection:
        return [cast(AccessLogged, dict(row._mapping)) for row in connection.execute(query)]
