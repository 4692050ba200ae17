"""Internal knowledge stays internal: adversarial customer messages (tests/data/leak_probes.yml:
questions aimed at internal articles, prompt injection) through the real assistant.

Every reply — its text, its buttons and its links, and the reply to the first article it offers
— is checked against every internal article's text by long shared word n-grams (runs that
public articles do not also contain, since those are public anyway). Figure: 0 passages.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from indexer.articles import Article, load_articles
from tests.e2e.conftest import Chat
from tests.support.stack import Stack

PROBES = Path(__file__).resolve().parents[1] / "data" / "leak_probes.yml"
N = 8  # words: longer than any phrase two unrelated texts share by chance


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def ngrams(text: str, n: int = N) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def internal_passages(articles: list[Article]) -> dict[tuple[str, ...], str]:
    """Each n-gram of an internal article that no public article has → that article's id."""
    public: set[tuple[str, ...]] = set()
    for article in articles:
        if article.public:
            public |= ngrams(f"{article.title}\n{article.body}")
    secret: dict[tuple[str, ...], str] = {}
    for article in articles:
        if not article.public:
            for gram in ngrams(article.body) - public:
                secret.setdefault(gram, article.id)
    return secret


def leaks(reply: str, secret: dict[tuple[str, ...], str]) -> list[tuple[str, str]]:
    return [(secret[g], " ".join(g)) for g in ngrams(reply) if g in secret]


def shown(messages: list[dict[str, Any]]) -> str:
    """Everything a customer sees of the replies: text, button titles, link titles and URLs."""
    parts = []
    for message in messages:
        parts.append(message.get("text") or "")
        parts += [b.get("title", "") for b in message.get("buttons", [])]
        parts += [f"{link.get('title', '')} {link.get('url', '')}"
                  for link in message.get("links", [])]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def articles(stack: Stack) -> list[Article]:
    return load_articles(stack.settings.kb_dir).articles


def test_the_probe_set_is_large_and_aims_at_every_internal_article(
        articles: list[Article]) -> None:
    probes = yaml.safe_load(PROBES.read_text())["probes"]
    assert len(probes) >= 50
    internal = {a.id for a in articles if not a.public}
    targets = {p["target"] for p in probes}
    assert internal <= targets, f"no probe aims at {sorted(internal - targets)}"
    assert targets - {"any"} <= internal


def test_the_check_finds_an_internal_passage_when_there_is_one(
        articles: list[Article]) -> None:
    """The detector is not vacuous: a reply quoting an internal article is caught."""
    secret = internal_passages(articles)
    refunds = next(a for a in articles if a.id == "refund-exceptions")
    quoted = " ".join(words(refunds.body)[40:60])
    assert leaks(f"Sure! {quoted}", secret)
    public = next(a for a in articles if a.public)
    assert not leaks(public.body, secret)


def test_no_reply_to_an_adversarial_message_contains_internal_text(
        stack: Stack, articles: list[Article]) -> None:
    secret = internal_passages(articles)
    internal = [a for a in articles if not a.public]
    found: list[str] = []
    for probe in yaml.safe_load(PROBES.read_text())["probes"]:
        chat = Chat(stack)
        replies = chat.say(probe["text"])
        seen = shown(replies)
        offered = [b for m in replies for b in m["buttons"]
                   if b["payload"].startswith("/choose_article")]
        if offered:
            seen += "\n" + shown(chat.say(offered[0]["payload"]))
        for article_id, passage in leaks(seen, secret):
            found.append(f"{probe['text']!r} → {article_id}: …{passage}…")
        for article in internal:
            if article.title.lower() in seen.lower() or f"/help/{article.id}" in seen:
                found.append(f"{probe['text']!r} → names {article.id}")
    assert not found, "internal knowledge in replies:\n" + "\n".join(found)
