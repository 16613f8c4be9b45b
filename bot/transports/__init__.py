"""Transports: how the assistant meets its users.

Each reads the command specs (bot.commands), calls `dispatch`/`suggest`/`press`, renders the
`Reply` objects it gets, and implements bot.chat.outbound.Outbound for posts and direct messages.
`console` runs in a terminal; `discord*` (the only modules that import discord.py) on Discord.
"""
