"""`sagsflow`: the command line, an edge (app.py: parse, call a use case or a read, print;
tables.py: the tables a person reads at a terminal)."""

from sagsflow.cli.app import app, main

__all__ = ["app", "main"]
