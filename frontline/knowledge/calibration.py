"""The calibration file: what ``frontline eval --calibrate`` chose for the product's KB.

``<data dir>/calibration.json`` holds the thresholds, the ranking and the confidence mix. The
settings never read it themselves: entry points call ``apply`` once, explicitly, and values set
in the environment win over the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from frontline.settings import Settings

FILE = "calibration.json"
CALIBRATED = ("answer_threshold", "clarify_threshold", "clarify_margin", "retrieval_mode",
              "ranking", "confidence_blend", "coverage_weight")


class CalibrationError(ValueError):
    """The calibration file is unreadable or holds a value its setting would refuse."""


def path(settings: Settings) -> Path:
    return settings.data_dir / FILE


def apply(settings: Settings) -> Settings:
    """``settings`` with the calibrated values filled in, unless set explicitly."""
    source = path(settings)
    if not source.is_file():
        return settings
    try:
        values = json.loads(source.read_text())
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"{source}: cannot read it: {exc}") from None
    updates = {name: _checked(name, values[name], source) for name in CALIBRATED
               if name in values and name not in settings.model_fields_set}
    return settings.model_copy(update=updates) if updates else settings


def write(settings: Settings, values: dict[str, Any]) -> Path:
    """Save a calibration (validated like the settings it fills) for ``apply`` to read."""
    target = path(settings)
    for name in CALIBRATED:
        if name in values:
            _checked(name, values[name], target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(values, indent=2) + "\n")
    return target


def _checked(name: str, value: object, source: Path) -> object:
    field = Settings.model_fields[name]
    try:
        return TypeAdapter(Annotated[field.annotation, field]).validate_python(value)
    except ValidationError as exc:
        raise CalibrationError(f"{source}: invalid {name} {value!r}: {exc.errors()[0]['msg']}"
                               ) from None
