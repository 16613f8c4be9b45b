"""Fault tests run against loopback servers only (the e2e guard refuses any other address)."""

from tests.e2e.conftest import loopback_only  # noqa: F401 - autouse fixture
