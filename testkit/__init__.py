"""Test scaffolding shared by tests/ and bench/; not part of the product (never installed, and
nothing under bot/ or storage/ imports it).

- `discord_fake/` — a loopback Discord (REST + gateway) for the real discord.py client; its README
  and its own tests are beside it.
- `bot_process` — `paperboy run` as a real process against the fake, to kill and restart.
- `faults/` — the kill -9 scenarios, and the `paperboy` that stops just before a load commits.
- `hostile_options` — hostile values for every command option.
- `loopback` — the fixture that keeps a test on loopback.
- `pg_server` — a throw-away PostgreSQL server.
"""
