"""How a figure's value reads, by unit: the dashboard, the report and the digest share it."""

from __future__ import annotations


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "share":
        return f"{100 * value:.1f} %"
    if unit == "hours":
        return f"{value:.1f} h"
    if unit == "score":
        return f"{value:.2f}"
    if unit == "nps":
        return f"{value:+.0f}"
    return f"{value:,.0f}"
