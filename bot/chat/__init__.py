"""What the assistant says and how it is sent: the contract between the transport-free core
(commands, the daily post, notifications) and the transports that render and send.

- `replies.py`: reply objects (text, pages, buttons, autocomplete choices), before any rendering;
- `limits.py`: Discord's hard limits and the helpers that make any text fit them;
- `outbound.py`: the `Outbound` protocol every transport implements for posts and direct messages;
- `ratelimit.py`: the token bucket that keeps everything sent under one global request rate (the
  HTTP sources also pace each host with it).
"""
