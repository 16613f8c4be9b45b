"""The sample digest (144 real papers) and a service wired to the loopback fake model server."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.llm.client import ChatClient
from bot.llm.service import LlmService
from bot.schedule.clock import ManualClock
from storage import digests as digest_repo
from storage.db import Database
from storage.loader import Loader
from storage.records import DigestInfo, ParsedDigest
from testkit.llm_fake import FakeLlm, fake_llm
from tests.bot.summary.conftest import SAMPLE_DATE, sample_records

NOW = dt.datetime(2025, 9, 9, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
async def sample(db: Database, fixtures: Path) -> DigestInfo:
    result = await Loader(db).load(ParsedDigest("hf-daily", SAMPLE_DATE, "hf-page", sample_records(fixtures)))
    info = await digest_repo.get_digest(db, result.digest_id)
    assert info is not None
    return info


@pytest.fixture
async def server() -> AsyncIterator[FakeLlm]:
    async with fake_llm() as fake:
        yield fake


def service(db: Database, server: FakeLlm | str, *, budget: int = 1_000_000, background: bool = False,
            stream: bool = False, timeout: float = 10.0) -> LlmService:
    url = server if isinstance(server, str) else server.base_url
    client = ChatClient(url, "fake-model", timeout_seconds=timeout, max_concurrency=4, stream=stream)
    return LlmService(db, client, daily_token_budget=budget, clock=ManualClock(NOW), background=background)
