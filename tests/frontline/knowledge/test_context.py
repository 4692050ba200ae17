"""Messages that are not questions (frontline.knowledge.context)."""

from __future__ import annotations

import pytest

from frontline.knowledge.context import is_small_talk


@pytest.mark.parametrize(("text", "small"), [
    ("Thanks!", True), ("thank you", True), ("ok 👍", True), ("Hi there", True),
    ("thanks, and on mobile?", False), ("hi, refund after 14 days?", False), ("", False),
])
def test_small_talk_is_only_thanks_or_a_greeting(text: str, small: bool) -> None:
    assert is_small_talk(text) is small
