"""The use cases: every write, and every read made as a principal.

Each opens its unit of work, calls the domain, and commits or writes nothing; the edges (CLI,
API, dashboard, flows) call these and only translate. Those that act as a signed-in principal
check what it may see and do and write the access log themselves, attempts that are stopped
included (`access`), so that every edge leaves the same rows for the same act.
"""
