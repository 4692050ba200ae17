"""Properties of masking over generated text (Hypothesis): an email address, a card number or
a phone number placed anywhere in any text is masked; text without one comes back unchanged."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontline.redaction import mask, valid_email

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text around the personal data: any characters (letters of every script, punctuation, emoji,
# control characters, other numbers). Around a card number, no digits: a digit glued to it
# makes a longer number that is neither a card nor a phone.
ANY = st.text(st.characters(blacklist_categories=["Cs"]), max_size=80)
AROUND = st.text(st.characters(blacklist_categories=["Cs", "Nd"], blacklist_characters="@"),
                 max_size=80)
# What may touch the data on either side: a space, a line break, or punctuation.
BEFORE = st.sampled_from([" ", "\n", "\t", " (", " <", ' "', " '", ": ", " [", "\u00a0"])
AFTER = st.sampled_from([" ", "\n", ".", ",", ")", ">", '"', "'", "!", "?", ";", ": ", "]"])

LOCAL_CHAR = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "!#$%&'*+/=?^_`{|}~-")
LOCAL_ATOM = st.text(LOCAL_CHAR, min_size=1, max_size=12)
LABEL = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)
TLD = st.from_regex(r"[A-Za-z]{2,8}", fullmatch=True)
EMAILS = st.builds(
    lambda atoms, labels, tld: f"{'.'.join(atoms)}@{'.'.join([*labels, tld])}",
    st.lists(LOCAL_ATOM, min_size=1, max_size=3), st.lists(LABEL, min_size=1, max_size=3), TLD,
).filter(valid_email)


def _luhn_complete(digits: str) -> str:
    """``digits`` plus the check digit that makes the whole Luhn-valid."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return digits + str((10 - total % 10) % 10)


def _grouped(digits: str, sep: str, size: int) -> str:
    return sep.join(digits[i:i + size] for i in range(0, len(digits), size)) if sep else digits


CARDS = st.builds(
    lambda body, sep, size: _grouped(_luhn_complete(body), sep, size),
    st.from_regex(r"[1-9][0-9]{11,17}", fullmatch=True), st.sampled_from(["", " ", "-"]),
    st.sampled_from([4, 5, 6]),
)
GROUP = st.from_regex(r"[0-9]{3,4}", fullmatch=True)
PHONES = st.builds(
    lambda plus, country, groups, sep: (f"+{country}{sep}" if plus else "0") + sep.join(groups),
    st.booleans(), st.from_regex(r"[1-9][0-9]{0,2}", fullmatch=True),
    st.lists(GROUP, min_size=2, max_size=3), st.sampled_from([" ", "-", ".", ""]),
).filter(lambda p: 8 <= sum(c.isdigit() for c in p) <= 15)


# Each kind of data, the text it is placed in, and the markers that may replace it (two phone
# numbers may read as one Luhn-valid card, a card number may read as a phone).
KINDS = {
    "email": (EMAILS, ANY, ("[email]",)),
    "card": (CARDS, AROUND, ("[card ending", "[phone]")),
    "phone": (PHONES, ANY, ("[phone]", "[card ending")),
}


@pytest.mark.parametrize("kind", KINDS)
@PROPERTY
@given(data=st.data())
def test_personal_data_anywhere_is_masked(kind: str, data: st.DataObject) -> None:
    values, around, markers = KINDS[kind]
    value = data.draw(values, label=kind)
    text = data.draw(around) + data.draw(BEFORE) + value + data.draw(AFTER) + data.draw(around)
    masked = mask(text)
    assert value not in masked
    assert any(marker in masked for marker in markers), masked
    if kind == "card":
        digits = "".join(c for c in value if c.isdigit())
        assert f"[card ending {digits[-4:]}]" in masked or "[phone]" in masked


@PROPERTY
@given(st.lists(PHONES, min_size=2, max_size=4), st.sampled_from([" ", "  ", "\t"]))
def test_phone_numbers_side_by_side_are_each_masked(phones: list[str], sep: str) -> None:
    masked = mask(sep.join(phones))
    for phone in phones:
        assert phone not in masked
    # Digits may stay only as fragments too short to be anyone's number (two numbers that
    # together read as a Luhn-valid card are masked as one, leaving the second one's tail).
    left = re.sub(r"\[card ending \d{4}\]", "|", masked)
    runs = re.findall(r"\d[\d \t().-]*\d|\d", left)
    assert all(sum(c.isdigit() for c in run) < 8 for run in runs), masked


# Text without personal data: any characters, '@' only between spaces, numbers of at most
# five digits each with words between them (amounts, error codes) and '#'-numbers (orders).
PLAIN_WORD = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs", "Nd", "Zs", "Cc"],
                          blacklist_characters="@"), min_size=1, max_size=15),
    st.from_regex(r"[0-9]{1,5}", fullmatch=True),
    st.from_regex(r"[0-9]{1,12}", fullmatch=True).map(lambda n: f"#{n}"),
    st.just("@"),
)


@PROPERTY
@given(st.lists(PLAIN_WORD, max_size=30).map(" word ".join))
def test_text_without_personal_data_is_unchanged(text: str) -> None:
    assert mask(text) == text
