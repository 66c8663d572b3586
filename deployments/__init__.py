"""The deployments of the flows: `prefect.yaml`, served by `serve.py` from one process against a
local server (`local_server.py`), or deployed to workers with `prefect deploy`.

No Prefect import here: `sagsflow flows serve` reads and checks the file before it starts a server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PREFECT_YAML = Path(__file__).resolve().with_name("prefect.yaml")


class DeploymentsInvalid(ValueError):
    """A prefect.yaml that cannot be read, or whose `deployments` lack a name or entrypoint."""


def deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The `deployments` section of a prefect.yaml, anchors resolved."""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DeploymentsInvalid(f"{path}: {error.strerror or error}") from error
    except yaml.YAMLError as error:  # one line: where, and what
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise DeploymentsInvalid(f"{path}: not valid YAML{where}: {problem}") from error
    specs = config.get("deployments") if isinstance(config, dict) else None
    if not isinstance(specs, list) or not specs:
        raise DeploymentsInvalid(f"{path}: no `deployments` list")
    for index, spec in enumerate(specs):
        if not (isinstance(spec, dict) and spec.get("name") and spec.get("entrypoint")):
            raise DeploymentsInvalid(f"{path}: deployments[{index}] needs a name and an entrypoint")
    return specs
