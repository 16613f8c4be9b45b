"""Downloads over HTTP with Paperboy's limits: size caps, timeouts, retries, public addresses only.

- `http.py`: `HttpClient` (conditional GETs, retries with backoff, Retry-After) and `download`;
- `errors.py`: `DownloadError`, in a module of its own so that recognising one imports no aiohttp;
- `addresses.py`: whether a URL's host is a public address (no loopback or private network).

The fetched sources (`bot.sources`) and `paperboy ingest URL` (`bot.ingest`) both download through it.
"""
