"""Where digests come from: the fetched sources (Hugging Face Daily Papers, arXiv
RSS, the arXiv API, an inbox folder) and the poller that fetches each new digest by itself.

App wiring: `bot.sources.poller.poller_from(settings, db, loader, on_loaded=...)` then
`schedule_polling(scheduler, poller)`; `storage.fetch_state.source_status(db)` for `/status`.
"""
