"""One pattern set for personal data: what is masked is what is accepted and found."""

from __future__ import annotations

import pytest

from frontline.redaction import find_email, mask, mask_email, valid_email


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("reach me at john.smith@mail.example.org", "reach me at [email]"),
        ("Visa 4242-4242-4242-4242 exp 12/28", "Visa [card ending 4242] exp 12/28"),
        ("my number is 0794 609 5812", "my number is [phone]"),
        ("ticket 10234, TL-429 on 2026-11-23", "ticket 10234, TL-429 on 2026-11-23"),
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert mask(text) == masked


EMAILS = [
    "bob@example.com", "a.b+tag@sub.example.co.uk", "o'neil@example.ie", "x_y-z@ex-ample.org",
    "UPPER@EXAMPLE.COM", "1234@numbers.io", "a@b.co",
]
NOT_EMAILS = [
    "x@y", "bob@@example.com", "bob@example", "@example.com", "bob@.example.com", "joe.@ex.com",
    ".joe@ex.com", "bob @example.com", "me@localhost", "a@b.c", "bob@example..com", "",
]


@pytest.mark.parametrize("value", EMAILS + NOT_EMAILS)
def test_masking_validation_and_finding_agree_on_what_an_email_is(value: str) -> None:
    accepted = valid_email(value)
    assert accepted == (value in EMAILS)
    # What validation accepts, masking hides and finding finds, alone and inside a sentence;
    # what it refuses is left as typed (no half-masked addresses).
    assert (mask(value) == "[email]") == accepted
    sentence = f"Hi, write to {value}, thanks."
    assert (find_email(sentence) == value) == accepted
    assert ((value not in mask(sentence)) == accepted) or not value


def test_an_address_in_running_text_is_found_whole() -> None:
    assert find_email("mail me at jane.doe@example.com.") == "jane.doe@example.com"
    assert find_email("<jane@example.com>") == "jane@example.com"
    assert mask("(jane@example.com)") == "([email])"
    assert find_email("no address here") is None
    assert mask_email("jane.doe@example.com") == "j•••@example.com"
