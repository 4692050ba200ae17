"""Mask personal data in text before it is stored: emails, card numbers, phone numbers."""

from __future__ import annotations

import re

EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# 13-19 digits, optionally grouped by spaces or dashes; confirmed with the Luhn checksum.
CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
# International or national numbers of 8-15 digits with the usual separators.
PHONE = re.compile(r"(?<![\w#])\+?\(?\d[\d\s().-]{6,}\d\b")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return f"[card ending {digits[-4:]}]" if _luhn(digits) else match.group()


DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")


def _phone(match: re.Match[str]) -> str:
    found = match.group()
    digits = re.sub(r"\D", "", found)
    if DATE.match(found.strip()) or not 8 <= len(digits) <= 15:
        return found
    return "[phone]"


def mask(text: str) -> str:
    """``text`` with emails, Luhn-valid card numbers and phone numbers replaced by markers."""
    text = EMAIL.sub("[email]", text)
    text = CARD.sub(_card, text)
    return PHONE.sub(_phone, text)
