"""The audit key the tests sign with: fixed, so that a record written in one process (a test's
own context) verifies in another (the CLI, a flow, the web server) given the same setting."""

from sagsflow.audit_keys import ring_from_env

TEST_AUDIT_KEY = "t1:" + "5a" * 32
# Every record the tests write is keyed: one written without the key is a finding.
TEST_KEYED_SINCE = "2000-01-01T00:00:00+00:00"
TEST_KEYS = ring_from_env(TEST_AUDIT_KEY, TEST_KEYED_SINCE)
