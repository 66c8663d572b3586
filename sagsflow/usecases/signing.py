"""How a use case signs the audit records it writes (statemachine.audit.Signing)."""

from __future__ import annotations

from sagsflow.context import Context
from sagsflow.usecases.access import Asked
from statemachine.audit import Signing


def signing_of(context: Context, asked: Asked | None = None) -> Signing:
    """The installation's current key, and where the event came from: a signed-in principal's
    channel (how they asked); else the operator's (the context's: `cli` with the OS user and
    `--operator`, or `flow`)."""
    if asked is not None:
        return Signing(context.keys.current, asked.channel.value)
    return Signing(context.keys.current, context.channel, context.os_user, context.as_operator)
