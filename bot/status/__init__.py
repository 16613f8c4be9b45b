"""The operator's overview (`/status`, `paperboy status`, `paperboy sources`, the web metrics).

- `report.py`: the report gathered without any transport (the archive, a server's daily post, what
  waits to be sent, what failed, each digest source's health) and its sections as text or JSON.
"""
