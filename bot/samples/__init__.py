"""The bundled sample digest, so Paperboy can be tried with nothing downloaded.

hf-daily-papers-sep-9.txt is the plain text of Hugging Face's Daily Papers page for Sep 9
(144 papers), as copied from the page (origin: huggingface.co/papers, the project's shared
sample digests).
"""

import datetime as dt
from pathlib import Path

SAMPLE_DIGEST = Path(__file__).with_name("hf-daily-papers-sep-9.txt")
# The page gives no year; the sample was taken in 2025.
SAMPLE_DATE = dt.date(2025, 9, 9)
