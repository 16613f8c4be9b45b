"""Similar papers and recommendations (issue #18): TF-IDF over titles and abstracts.

Transport-free, reached through `Services.similar` (bot/commands/context.py) by /similar, the
"More like this" button and /recommend (bot/commands/similar.py), and by the CLI (bot/cli/similar.py):

    text.py     a paper's terms: words and bigrams of its title and abstract, stop words out
    vectors.py  TF-IDF weights cut to a paper's heaviest terms; dot products, centroids
    index.py    SimilarIndex: weighs a load's new papers after it commits; rebuilds the whole index
    backfill.py Backfill: weighs the papers without a vector in the background (the upkeep lease)
    service.py  SimilarService: nearest neighbours, a member's recommendations with their words
    weekly.py   the opt-in weekly "for you" direct message, sent once per member per week

Storage: storage/similar.py (vocabulary, vectors, inverted index) and storage/recommend.py.
"""

from bot.similar.index import SimilarIndex
from bot.similar.service import Match, Recommendations, SimilarService

__all__ = ["Match", "Recommendations", "SimilarIndex", "SimilarService"]
