"""Prefect flows (issue #4): thin wrappers around the service layer (`sagsflow.sweep.sweep`, …).

Nothing here yet: the sweep runs today as the plain function behind `sagsflow sweep`, the same code
path the `enforce_deadlines` flow will call.
"""
