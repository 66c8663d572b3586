"""The read side: every SELECT behind typed results, one module per read model.

Reads take a `Context` and, where they cover many cases, a WHERE clause over the case table
(`read.visibility.case_filter` of the principal) or a team; they never write.
"""
