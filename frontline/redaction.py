"""Personal data in free text: the one set of patterns for emails, card numbers and phones.

What ``mask`` hides as an email is exactly what ``valid_email`` accepts and ``find_email``
finds, so an address a customer types is never stored in clear because two rules disagreed.
Every store masks with this module: tickets, conversations, events; Rasa's tracker store gets
tokens for emails and masked numbers (``frontline.support.vault``).
"""

from __future__ import annotations

import re

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
_EMAIL = f"{_LOCAL}@{_DOMAIN}"
# In running text an address starts and ends at a token boundary (not inside a longer word).
EMAIL = re.compile(rf"(?<![\w!#$%&'*+/=?^`{{|}}~.-]){_EMAIL}(?![\w-])")
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
    if DATE.match(found.strip()) or TIMESTAMP.match(found.strip()) or len(digits) < 8:
        return found
    if len(digits) > 15:
        return _phones_in_run(found)
    return "[phone]"


def _phones_in_run(run: str) -> str:
    """A run of digit groups too long for one phone number (two numbers side by side, a
    number after a long reference): split it at spaces into the phone numbers that leave the
    fewest digits unmasked; groups that belong to none stay as typed."""
    parts = re.split(r"(\s+)", run)  # digit groups at even indexes, spaces at odd ones
    groups = parts[::2]
    counts = [sum(c.isdigit() for c in g) for g in groups]
    # best[i]: (digits left unmasked, end of the phone starting at group i or None) from i on.
    best: list[tuple[int, int | None]] = [(0, None)] * (len(groups) + 1)
    for i in range(len(groups) - 1, -1, -1):
        choice: tuple[int, int | None] = (counts[i] + best[i + 1][0], None)
        digits = 0
        for j in range(i + 1, len(groups) + 1):
            digits += counts[j - 1]
            if digits > 15:
                break
            phone = "".join(parts[2 * i:2 * j - 1])
            if digits >= 8 and best[j][0] <= choice[0] and not (
                    DATE.match(phone) or TIMESTAMP.match(phone)):
                choice = (best[j][0], j)
        best[i] = choice
    out: list[str] = []
    i = 0
    while i < len(groups):
        end = best[i][1]
        out.append("[phone]" if end else groups[i])
        i = end or i + 1
        if i < len(groups):
            out.append(parts[2 * i - 1])
    return "".join(out)


def mask_numbers(text: str) -> str:
    """``text`` with Luhn-valid card numbers and phone numbers replaced by markers (emails
    kept: what the assistant is sent has them replaced by tokens instead, see
    ``frontline.support.vault``)."""
    return PHONE.sub(_phone, CARD.sub(_card, text))


def mask(text: str) -> str:
    """``text`` with emails, Luhn-valid card numbers and phone numbers replaced by markers."""
    return mask_numbers(EMAIL.sub("[email]", text))
