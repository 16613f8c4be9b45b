"""Fixtures for the download tests: the loopback upstream and the fake clock of the fetch tests."""

from tests.bot.sources.upstream import fake_time, upstream  # noqa: F401
