"""The use cases: every write, and every read made as a principal.

Each opens its unit of work, calls the domain, and commits or writes nothing; the edges (CLI,
API, dashboard, flows) call these and only translate.
"""
