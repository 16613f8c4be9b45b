-- As storage/sqlite/migrations/0017_similar.sql: the TF-IDF vocabulary with document frequencies,
-- each paper's vector (its heaviest terms, packed), the same vectors inverted per term heaviest
-- first, and the weekly "for you" message's members and send log.
CREATE TABLE similar_terms (
    id   bigserial PRIMARY KEY,
    term text NOT NULL UNIQUE,
    df   integer NOT NULL
);

CREATE TABLE similar_vectors (
    paper_id  bigint PRIMARY KEY REFERENCES papers (id) ON DELETE CASCADE,
    terms     bytea NOT NULL,
    docs      integer NOT NULL,
    text_hash text NOT NULL
);

CREATE TABLE paper_terms (
    term_id  bigint NOT NULL,
    weight   integer NOT NULL,
    paper_id bigint NOT NULL,
    PRIMARY KEY (term_id, weight, paper_id)
);
CREATE INDEX paper_terms_impact ON paper_terms (term_id, weight DESC) INCLUDE (paper_id);

CREATE TABLE recommend_weekly (
    user_id    text PRIMARY KEY,
    created_at timestamptz NOT NULL
);

CREATE TABLE recommend_sends (
    id         bigserial PRIMARY KEY,
    user_id    text NOT NULL,
    week       text NOT NULL,
    status     text NOT NULL,
    papers     integer NOT NULL DEFAULT 0,
    reason     text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (user_id, week)
);
CREATE INDEX recommend_sends_status ON recommend_sends (status);
