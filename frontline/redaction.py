"""Personal data in free text: the one set of patterns for emails, card numbers and phones.

What ``mask`` hides as an email is exactly what ``valid_email`` accepts and ``find_email``
finds, so an address a customer types is never stored in clear because two rules disagreed.
Every store masks with this module: tickets, conversations, events.
"""

from __future__ import annotations

import re

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
_EMAIL = f"{_LOCAL}@{_DOMAIN}"
# In running text an address starts and ends at a token boundary (not inside a longer word).
EMAIL = re.compile(rf"(?<![\w!#$%&'*+/=?^`{{|}}~.-]){_EMAIL}(?![\w-]|\.[A-Za-z0-9])")
EMAIL_MAX = 254
# 13-19 digits, optionally grouped by spaces or dashes; confirmed with the Luhn checksum.
CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
# International or national numbers of 8-15 digits with the usual separators.
PHONE = re.compile(r"(?<![\w#=])\+?\(?\d[\d \t().-]{6,}\d\b")
DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
# A date at the start of a run of digits: a timestamp in a pasted log, not a phone number.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}$|^\d{4}-\d{2}-\d{2}[ T]")
_WHOLE_EMAIL = re.compile(_EMAIL)


def valid_email(value: str) -> bool:
    """True when ``value`` (surrounding spaces aside) is one email address."""
    value = value.strip()
    return len(value) <= EMAIL_MAX and _WHOLE_EMAIL.fullmatch(value) is not None


def find_email(text: str) -> str | None:
    """The first email address in ``text``, or None."""
    found = EMAIL.search(text)
    return found.group() if found and len(found.group()) <= EMAIL_MAX else None


def mask_email(email: str) -> str:
    """``jane.doe@example.com`` → ``j•••@example.com``: enough for a rep to recognise."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "[email]"


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


def _phone(match: re.Match[str]) -> str:
    found = match.group()
    digits = re.sub(r"\D", "", found)
    if DATE.match(found.strip()) or TIMESTAMP.match(found.strip()) or not (
            8 <= len(digits) <= 15):
        return found
    return "[phone]"


def mask(text: str) -> str:
    """``text`` with emails, Luhn-valid card numbers and phone numbers replaced by markers."""
    text = EMAIL.sub("[email]", text)
    text = CARD.sub(_card, text)
    return PHONE.sub(_phone, text)
