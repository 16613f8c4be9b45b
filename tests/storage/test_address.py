"""Database addresses read as text: a PostgreSQL URL shown without its password."""

from __future__ import annotations

from storage.address import shown_address, url_without_password


def test_shown_urls_keep_the_user_and_drop_the_password() -> None:
    assert url_without_password("postgresql://u:p@h:5432/db?sslmode=require") == \
        "postgresql://u@h:5432/db?sslmode=require"
    assert url_without_password("postgresql://h/db") == "postgresql://h/db"
    assert shown_address("postgresql://u:p@h:5432/db") == "postgresql://u@h:5432/db"
    assert shown_address("sqlite:///srv/paperboy.db") == "/srv/paperboy.db"
