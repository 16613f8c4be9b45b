"""Crash scenarios (`scenarios`) shared by tests/faults and `python -m bench resilience`, and the
`paperboy` entry point that stops just before a load commits (`stop_before_commit`)."""
