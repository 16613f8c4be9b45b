"""/ingest (server admins): load a digest from an attached file or a URL into the archive.

Loading runs the Loader's hooks and listeners (title index, subscription matching and
queueing, the daily post's wake-up), exactly as `paperboy ingest` does. The attachment is written to a private
temporary folder under its own (sanitised) name, which format detection may use.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import tempfile
import urllib.parse
from collections.abc import Mapping
from typing import Any

from bot.chat import limits
from bot.chat.replies import Attachment, Reply
from bot.commands.context import Context
from bot.commands.errors import UsageError
from bot.commands.specs import CommandSpec, OptionSpec, OptionType
from bot.download.addresses import is_public_address
from bot.ingest.load import IngestOptions, IngestOutcome, ingest

_UNSAFE_NAME = re.compile(r"[^\w.\-]+")


def _options(ctx: Context) -> IngestOptions:
    s = ctx.services.settings.ingest
    return IngestOptions(announce_types=frozenset(s.announce_types), chunk_size=s.chunk_size,
                         max_download_bytes=s.max_download_bytes, today=ctx.now().date(),
                         public_only=not s.chat_private_urls)


async def _from_attachment(ctx: Context, file: Attachment) -> tuple[str, IngestOutcome]:
    limit = ctx.services.settings.ingest.max_download_bytes
    if len(file.data) > limit:
        raise UsageError(f"the file is {len(file.data):,} bytes; the limit is {limit:,}")
    if not file.data:
        raise UsageError("the attached file is empty")
    name = _UNSAFE_NAME.sub("_", os.path.basename(limits.clean_user_text(file.filename)))[-100:].lstrip(".") \
        or "digest"
    with tempfile.TemporaryDirectory(prefix="paperboy-ingest-") as folder:
        path = os.path.join(folder, name)
        with open(path, "wb") as out:
            out.write(file.data)
        outcome = await ingest(ctx.services.loader, path, _options(ctx))
    # Name the file as the user knows it, not the temporary path.
    if outcome.error:
        outcome.error = outcome.error.replace(path, name)
    outcome.notes = [note.replace(path, name) for note in outcome.notes]
    return name, outcome


async def _refuse_private_host(url: str) -> None:
    """A chat admin may not make the bot fetch loopback, private or link-local addresses
    (server-side request forgery); operators can lift this with [ingest] chat_private_urls.
    This early look-up only gives the quick answer: the guard is the download's, which checks
    the address of every connection it makes, redirects included (IngestOptions.public_only)."""
    host = urllib.parse.urlsplit(url).hostname
    if not host:
        raise UsageError("the url has no host name")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise UsageError(f"cannot resolve the host {host}") from None
    for info in infos:
        if not is_public_address(str(info[4][0])):
            raise UsageError(f"{host} is a private or local address; the bot only fetches public URLs")


async def run_ingest(ctx: Context, options: Mapping[str, Any]) -> Reply:
    url, file = options.get("url"), options.get("file")
    if (url is None) == (file is None):
        raise UsageError("/ingest needs exactly one of: file (an attached digest) or url")
    if file is not None:
        name, outcome = await _from_attachment(ctx, file)
    else:
        name = str(url)
        if not re.match(r"^https?://\S+$", name):
            raise UsageError("url must start with http:// or https:// and contain no spaces")
        if not ctx.services.settings.ingest.chat_private_urls:
            await _refuse_private_host(name)
        outcome = await ingest(ctx.services.loader, name, _options(ctx))
    if outcome.error:
        raise UsageError(f"Could not load {name}: {outcome.error}")
    if not outcome.digests:
        return Reply(text=limits.safe(f"{name} ({outcome.format}) holds no papers.", limits.CONTENT), private=True)
    lines = [f"Loaded {name} ({outcome.format}):"]
    for d in outcome.digests:
        state = "already stored, unchanged" if d.unchanged else f"{d.new} new, {d.merged} merged, {d.updated} updated"
        state += f", {d.removed} removed" if d.removed else ""
        state += f", {d.kept} kept that this capture lacks" if d.kept else ""
        lines.append(f"• {d.source} {d.date.isoformat()}: {d.papers} papers ({state})")
    lines += [f"Note: {note}" for note in outcome.notes]
    return Reply(text=limits.truncate("\n".join(limits.safe(line) for line in lines), limits.CONTENT), private=True)


SPECS = (
    CommandSpec(
        "ingest", "Load a digest into the archive from an attached file or a URL (server admins)",
        options=(
            OptionSpec("url", OptionType.STRING, "Where to download the digest from (http or https)",
                       max_length=2000),
            OptionSpec("file", OptionType.ATTACHMENT, "A digest file: HF page text or JSON, arXiv RSS/Atom, export"),
        ),
        handler=run_ingest, admin_only=True, private=True, may_be_slow=True,
    ),
)
