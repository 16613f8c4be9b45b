"""Title look-up (`/paper`, `paperboy paper`): a paper found from a title typed from memory.

- `service.py`: the feature as the commands use it: a query in, hits or autocomplete choices out;
- `index.py`: the in-memory inverted index over normalised title words that ranks candidates;
- `text.py`: how titles and queries fold to comparable words;
- `sync.py`: keeping the index in step with the archive by polling; `snapshot.py`: the index saved
  in the archive so a start-up need not rebuild it;
- `close.py`: a stored paper's close matches (its web page), kept and topped up as papers arrive;
- `reference.py`: a paper named the way any command prints one (`id:22`, an arXiv id or URL).

What it reads and stores in the archive is `storage/lookup.py`.
"""
