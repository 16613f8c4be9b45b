"""Fixtures for the fetch tests: the loopback upstream, the fake clock, a poller factory."""

from tests.bot.sources.upstream import fake_time, make_poller, upstream  # noqa: F401
