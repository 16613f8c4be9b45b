"""Paperboy, the assistant: one package per feature, transport-free (ingest, search, lookup,
summary, subscriptions, schedule, sources, status, llm), and `app.py`, which wires them.

The chat commands (`bot.commands`), the CLI (`bot.cli`), the web archive (`bot.web`) and the
transports (Discord, the console) are adapters over them; transports render and send the plain
reply objects built here. Only `bot.transports.discord_bot` imports `discord`.
"""

__version__ = "0.1.0"
