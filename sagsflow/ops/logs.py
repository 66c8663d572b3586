"""The operator's log: one JSON object a line on stderr (structlog), for `sagsflow serve`.

Every line has `timestamp` (UTC, ISO 8601), `level`, `logger` and `event`; the request line
(`event: "request"`, sagsflow/ops/__init__.py) adds method, route template, status, duration
and the request id. uvicorn's own lines (start, stop, errors) go through the same renderer;
uvicorn's access log is off, the request line replaces it. What is logged is chosen, never a
request's path, query string or body: no child's reference, name or case data reaches the log.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

# Shared by structlog's own loggers and the standard library's (uvicorn, sagsflow.*).
_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure(level: str = "info") -> None:
    """structlog's loggers render through the standard library's handlers (below)."""
    structlog.configure(
        processors=[
            *_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )


def logging_config(level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` (uvicorn's `log_config`): every record, uvicorn's and
    ours, one JSON line on stderr; uvicorn's access logger silenced (the request line is ours).
    """
    configure(level)
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(ensure_ascii=False),
                ],
                "foreign_pre_chain": _PROCESSORS,
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "sagsflow": {"handlers": ["stderr"], "level": upper, "propagate": False},
        },
    }
