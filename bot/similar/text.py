"""What a paper's terms are: the words of its title and abstract, and their bigrams.

As arxiv-sanity-lite's TfidfVectorizer: accents stripped, lower case, tokens of at least two
characters starting with a letter, English stop words left out before the bigrams are formed
(so "learning of representations" gives the bigram "learning representations").
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter

_TOKEN = re.compile(r"[a-z_][a-z0-9_]+")

# scikit-learn's ENGLISH_STOP_WORDS (from the Glasgow list), which arxiv-sanity-lite uses.
_STOP = """
a about above across after afterwards again against all almost alone along already also although always am
among amongst amoungst amount an and another any anyhow anyone anything anyway anywhere are around as at back
be became because become becomes becoming been before beforehand behind being below beside besides between
beyond bill both bottom but by call can cannot cant co con could couldnt cry de describe detail do done down
due during each eg eight either eleven else elsewhere empty enough etc even ever every everyone everything
everywhere except few fifteen fifty fill find fire first five for former formerly forty found four from front
full further get give go had has hasnt have he hence her here hereafter hereby herein hereupon hers herself
him himself his how however hundred i ie if in inc indeed interest into is it its itself keep last latter
latterly least less ltd made many may me meanwhile might mill mine more moreover most mostly move much must my
myself name namely neither never nevertheless next nine no nobody none noone nor not nothing now nowhere of off
often on once one only onto or other others otherwise our ours ourselves out over own part per perhaps please
put rather re same see seem seemed seeming seems serious several she should show side since sincere six sixty
so some somehow someone something sometime sometimes somewhere still such system take ten than that the their
them themselves then thence there thereafter thereby therefore therein thereupon these they thick thin third
this those though three through throughout thru thus to together too top toward towards twelve twenty two un
under until up upon us very via was we well were what whatever when whence whenever where whereafter whereas
whereby wherein whereupon wherever whether which while whither who whoever whole whom whose why will with
within without would yet you your yours yourself yourselves
"""
STOP_WORDS = frozenset(_STOP.split())


def words(text: str) -> list[str]:
    """The text's tokens, accents stripped and lower-cased, stop words left out."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return [w for w in _TOKEN.findall(plain) if w not in STOP_WORDS]


def terms(title: str, abstract: str) -> Counter[str]:
    """Each unigram and bigram of the title and of the abstract, with how often it occurs."""
    counts: Counter[str] = Counter()
    for part in (title, abstract):
        tokens = words(part)
        counts.update(tokens)
        counts.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))
    return counts


def text_hash(title: str, abstract: str) -> str:
    """Tells whether a paper's text changed since its vector was made."""
    return hashlib.sha1(f"{title}\n{abstract}".encode(), usedforsecurity=False).hexdigest()[:16]
