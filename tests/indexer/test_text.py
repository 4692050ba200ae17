"""``plain``: a Markdown passage as the words a reader sees, for snippets shown as text."""

from __future__ import annotations

from indexer.text import plain


def test_marks_link_targets_list_and_table_syntax_are_dropped() -> None:
    text = ("If you cancel within **14 days of the first paid charge** of an "
            "[annual plan](https://help.example/annual), run `export --all`.\n\n"
            "## Limits\n- up to *10,000* rows\n- 50 MB\n\n"
            "| Plan | Price |\n|---|---|\n| Team | $10 |\n\n```\nTL-413\n```\n")
    assert plain(text) == ("If you cancel within 14 days of the first paid charge of an annual "
                           "plan, run export --all. Limits up to 10,000 rows 50 MB Plan Price "
                           "Team $10 TL-413")


def test_plain_text_and_odd_input_pass_through() -> None:
    assert plain("Choose Forgot password.") == "Choose Forgot password."
    assert plain("") == ""
    assert plain("a * b ** c") == "a * b ** c"  # not emphasis: kept as typed
    assert plain("an unclosed **mark") == "an unclosed **mark"
