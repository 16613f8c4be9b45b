"""How stored text is shown to people, the same on every surface (chat, CLI, web, feeds, JSON).

- `titles.py`: a stored title as display text, and search's marks carried over onto it;
- `addresses.py`: the web archive's stable addresses, spelt once for pages, Discord cards and posts;
- `tex.py`: TeX in titles and names written as Unicode (ingest also stores author names through it);
- `as_json.py`: Paperboy's JSON, the same from `--json` and from the web API.
"""
