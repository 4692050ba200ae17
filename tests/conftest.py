"""Shared fixtures: the real embedding model (loaded once) and real FAISS indexes."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from frontline.db import Database
from frontline.knowledge import default_embedding_model
from frontline.settings import Settings
from indexer import SentenceTransformerEmbedder, build_index

REPO = Path(__file__).resolve().parent.parent
SAMPLE_KB = REPO / "knowledge_base"


class CountingEmbedder:
    """The real embedder, counting what it embeds (to check incremental indexing)."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.texts: list[str] = []
        self.fail_after: int | None = None  # raise once this many texts were embedded

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts, *, progress=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        if self.fail_after is not None and len(self.texts) + len(texts) > self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        self.texts.extend(texts)
        return self.inner.embed(texts, progress=progress)


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(default_embedding_model())


@pytest.fixture
def embedder(real_embedder: SentenceTransformerEmbedder) -> CountingEmbedder:
    return CountingEmbedder(real_embedder)


def write_article(
    kb: Path,
    article_id: str,
    title: str,
    body: str,
    *,
    audience: str = "public",
    questions: tuple[str, ...] = (),
    url: str | None = None,
) -> Path:
    lines = ["---", f"id: {article_id}", f"title: {title}", f"audience: {audience}"]
    if url:
        lines.append(f"url: {url}")
    if questions:
        lines.append("questions:")
        lines += [f"  - {q}" for q in questions]
    lines.append("---")
    path = kb / f"{article_id}.md"
    path.write_text("\n".join(lines) + "\n" + textwrap.dedent(body).strip() + "\n")
    return path


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    """Four short articles, one of them internal."""
    kb = tmp_path / "kb"
    kb.mkdir()
    write_article(kb, "reset-password", "Reset your password", """
        If you forgot your password, open the sign-in page and choose **Forgot password**.

        ## Email link
        We send a reset link that is valid for 30 minutes.
        """, questions=("I forgot my password", "can't log in"),
        url="https://help.example.com/reset-password")
    write_article(kb, "refund-policy", "Refund policy", """
        Annual plans are refunded in full within 14 days of the first payment.

        ## Monthly plans
        Monthly plans are not refunded; cancel any time to stop the next charge.
        """, questions=("can I get my money back", "how do refunds work"))
    write_article(kb, "mobile-offline", "Use the mobile app offline", """
        The iOS and Android apps keep your recent projects available without a connection.
        Changes sync when you are back online.
        """, questions=("does the app work without internet",))
    write_article(kb, "refund-exceptions", "Refund exceptions (reps only)", """
        Reps may approve a goodwill refund up to 50 EUR after the 14-day window.
        Larger amounts need a team lead's approval in Backstage.
        """, audience="internal", questions=("customer wants refund after 14 days",))
    return kb


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:  # type: ignore[no-untyped-def]
    """The repository's sample knowledge base, indexed once per test session."""
    data_dir = tmp_path_factory.mktemp("sample-data")
    kb = data_dir / "kb"
    shutil.copytree(SAMPLE_KB, kb)
    build_index(kb, data_dir / "index", real_embedder)
    return data_dir


def make_settings(data_dir: Path, kb_dir: Path, **overrides) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        kb_dir=kb_dir,
        data_dir=data_dir,
        embedding_model=default_embedding_model(),
        **overrides,
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    from tests.support.postgres import pg_bin, postgres_server

    if pg_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL must be installed in CI (make test installs it)")
        pytest.skip("PostgreSQL is not installed here (make test installs it)")
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A private Redis server for the session (flushed by the tests that need it empty)."""
    from tests.support.redis import redis_bin, redis_server

    if redis_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server must be installed in CI (make test installs it)")
        pytest.skip("redis-server is not installed here (make test installs it)")
    with redis_server() as server:
        yield server.url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: SQLite file and PostgreSQL, each test runs on both."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'frontline.db'}")
        db.migrate()
        yield db
    else:
        url = request.getfixturevalue("postgres_url")
        db = Database(url)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        db.migrate()
        yield db
    db.dispose()
