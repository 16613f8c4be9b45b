"""The daily post: when each server's post is due (`decide`), sending it exactly once (`poster`),
and the APScheduler wiring that wakes them (`runner`). Time comes from an injectable `clock`."""
