"""Paperboy, the assistant: transport-free commands, summaries, matching and scheduling.

Transports (Discord, the console) render and send the plain reply objects built here. Only
`bot.transports.discord_bot` imports `discord`.
"""

__version__ = "0.1.0"
