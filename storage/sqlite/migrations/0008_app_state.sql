-- Small named values the running bot remembers between restarts, e.g. the hash of the slash-command
-- definitions last registered with Discord (so start-up re-registers only when they changed).
CREATE TABLE app_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
