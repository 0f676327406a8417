"""Fixtures shared by the unit tests."""

# The revocation rules' harness (a Runtime over a real SQLite store), for every rule test.
from tests.unit.test_revocation_rules import h  # noqa: F401
