"""Fault tests run against loopback servers only (the guard refuses any other address)."""

from testkit.loopback import loopback_only  # noqa: F401 - autouse fixture
