"""Who the bearer token says the caller is."""

from __future__ import annotations

from fastapi import APIRouter

from sagsflow.api.deps import PrincipalDep
from sagsflow.api.problems import ProblemRoute, responses
from sagsflow.api.schemas import Me

router = APIRouter(route_class=ProblemRoute, tags=["me"])


@router.get("/me", response_model=Me, summary="The token's user", responses=responses(401))
def me(principal: PrincipalDep) -> Me:
    """The name, role and team every request with this token acts as, and which cases it sees."""
    return Me(
        name=principal.name,
        role=principal.role,
        team=principal.team,
        scope=principal.scope.value,
        read_only=principal.read_only,
    )
