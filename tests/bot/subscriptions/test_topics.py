"""Topic validation, the canonical form that deduplicates topics, and user ids."""

from __future__ import annotations

import pytest

from bot.subscriptions.topics import SubscriptionError, parse_topic, parse_user, query_of


@pytest.mark.parametrize(("a", "b"), [
    ("KV cache -vision", "cache kv -Vision"),
    ("Speculative Decoding", "speculative   decoding"),
    ('"Gaussian Splatting"', '"gaussian splatting"'),
    ("diffusion OR flow", "Flow OR diffusion"),
    ("title:Mamba", "title:mamba"),
])
def test_the_same_topic_written_differently_has_one_key(a: str, b: str) -> None:
    assert parse_topic(a).key == parse_topic(b).key


@pytest.mark.parametrize(("a", "b"), [
    ("kv cache", '"kv cache"'),  # words anywhere vs a phrase
    ("mamba", "title:mamba"),
    ("quantiz*", "quantiz"),
    ("kv cache", "kv -cache"),
])
def test_different_topics_keep_different_keys(a: str, b: str) -> None:
    assert parse_topic(a).key != parse_topic(b).key


def test_the_key_round_trips_through_the_parser() -> None:
    topic = parse_topic('title:"Gaussian Splatting" 3D OR NeRF -survey quantiz*')
    assert query_of(topic.key) == topic.query
    assert topic.text == 'title:"Gaussian Splatting" 3D OR NeRF -survey quantiz*'  # shown as typed


@pytest.mark.parametrize(("text", "message"), [
    ("", "nothing to search for"),
    ("-vision", "cannot be only -exclusions"),
    ("a*", "too short for a prefix"),
    ("!!! ???", "nothing to search for"),
    ("word " * 60, "too long"),
])
def test_unusable_topics_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SubscriptionError, match=message):
        parse_topic(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("discord:1234", "discord:1234"), ("1234", "discord:1234"), (" console:alice ", "console:alice"),
])
def test_user_ids(text: str, expected: str) -> None:
    assert parse_user(text) == expected


@pytest.mark.parametrize("text", ["alice", "discord:alice", "slack:1", "console:", ""])
def test_bad_user_ids_are_named(text: str) -> None:
    with pytest.raises(SubscriptionError, match="is not an id like"):
        parse_user(text)
