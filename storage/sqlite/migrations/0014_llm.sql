-- Optional model-written summaries (issue #19, bot/llm/): what a model answered, cached by what it
-- was asked about, the model and the prompt's version, so a restart or a second post never asks
-- again. `input_hash` is the hash of the prompt's input: a paper whose text changed is asked anew.
-- `text` is NULL when the answer failed the checks (`problem` says why): the same input is not
-- asked again until `paperboy summarize` retries it. `origin` is 'model', or 'source' for a
-- summary the source gave (Hugging Face's ai_summary), stored so the post reads one table.
CREATE TABLE llm_tldrs (
    paper_id       INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    model          TEXT NOT NULL,
    prompt_version INTEGER NOT NULL,
    input_hash     TEXT NOT NULL,
    text           TEXT,
    problem        TEXT,
    origin         TEXT NOT NULL,
    tokens         INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (paper_id, model, prompt_version)
);
-- The day's paragraph ("today in papers"), one per digest.
CREATE TABLE llm_overviews (
    digest_id      INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    model          TEXT NOT NULL,
    prompt_version INTEGER NOT NULL,
    input_hash     TEXT NOT NULL,
    text           TEXT,
    problem        TEXT,
    origin         TEXT NOT NULL,
    tokens         INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (digest_id, model, prompt_version)
);
-- What the model cost each UTC day: requests, tokens, failures (no answer), answers the checks
-- dropped, posts that went out without model text, and the last problem met.
CREATE TABLE llm_usage (
    day               TEXT NOT NULL,
    model             TEXT NOT NULL,
    requests          INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    failures          INTEGER NOT NULL DEFAULT 0,
    rejected          INTEGER NOT NULL DEFAULT 0,
    extractive_posts  INTEGER NOT NULL DEFAULT 0,
    last_problem      TEXT,
    last_problem_at   TEXT,
    last_post_note    TEXT,             -- why the last post went out without (all) model text
    PRIMARY KEY (day, model)
);
