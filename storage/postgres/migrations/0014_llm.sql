-- As storage/sqlite/migrations/0014_llm.sql: model-written summaries cached by subject, model and
-- prompt version (text NULL: the answer failed the checks), and the model's daily usage.
CREATE TABLE llm_tldrs (
    paper_id       bigint NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    model          text NOT NULL,
    prompt_version integer NOT NULL,
    input_hash     text NOT NULL,
    text           text,
    problem        text,
    origin         text NOT NULL,
    tokens         integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (paper_id, model, prompt_version)
);
CREATE TABLE llm_overviews (
    digest_id      bigint NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
    model          text NOT NULL,
    prompt_version integer NOT NULL,
    input_hash     text NOT NULL,
    text           text,
    problem        text,
    origin         text NOT NULL,
    tokens         integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (digest_id, model, prompt_version)
);
CREATE TABLE llm_usage (
    day               date NOT NULL,
    model             text NOT NULL,
    requests          integer NOT NULL DEFAULT 0,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    failures          integer NOT NULL DEFAULT 0,
    rejected          integer NOT NULL DEFAULT 0,
    extractive_posts  integer NOT NULL DEFAULT 0,
    last_problem      text,
    last_problem_at   timestamptz,
    last_post_note    text,
    PRIMARY KEY (day, model)
);
