"""Prefect flows: thin wrappers, each task one call into the service layer (`sagsflow.*`).

`enforce.py` (the sweep, a task per batch of deadlines), `deliver.py` (the notification outbox),
`digest.py` (the supervisors' morning digest) and `compliance.py` (the periodic report). Their
deployments are in `deployments/prefect.yaml`; the same functions run without Prefect behind the
CLI (`sagsflow sweep`, `sagsflow notify deliver`, `sagsflow report …`).
"""
