"""Slack links articles the way the widget does (issue 13): the article's own ``url`` wins; a
public article without one links to its help-centre page at the section that matched; an
internal article without one gets no link. Tested as data (the Block Kit message)."""

from __future__ import annotations

import json

from frontline.knowledge import ScoredHit, Thresholds
from integrations.slack import blocks
from integrations.slack.assist import suggestion
from integrations.slack.listeners.actions.handoff import customer_article

BASE = "https://support.example.com/"
THRESHOLDS = Thresholds(answer=0.6, clarify=0.3, margin=0.05)


def hit(article_id: str, *, url: str | None = None, audience: str = "public",
        heading: str = "Recovery > Backup codes") -> ScoredHit:
    return ScoredHit(article_id=article_id, title="Lost your 2FA device", url=url,
                     audience=audience, heading=heading, snippet="Use a backup code.",
                     passage="Use a backup code.", score=0.9, matched="section", certainty=0.9)


def test_suggestions_link_to_the_help_centre_section_unless_the_article_has_a_url() -> None:
    shown = [suggestion(hit("lost-2fa"), THRESHOLDS, BASE),
             suggestion(hit("sso", url="https://kb.example.com/sso"), THRESHOLDS, BASE),
             suggestion(hit("escalations", audience="internal"), THRESHOLDS, BASE)]
    assert [s.link for s in shown] == ["https://support.example.com/help/lost-2fa#backup-codes",
                                       "https://kb.example.com/sso", None]
    message = json.dumps(blocks.suggestions_message("lost my phone", shown, outcome="answer"))
    assert "<https://support.example.com/help/lost-2fa#backup-codes|" in message
    assert "<https://kb.example.com/sso|" in message
    assert "/help/escalations" not in message


def test_an_article_sent_to_a_customer_links_to_the_quoted_section() -> None:
    text = customer_article(hit("lost-2fa"), BASE)
    assert "(https://support.example.com/help/lost-2fa#backup-codes)" in text
    whole = customer_article(hit("lost-2fa", heading=""), BASE)
    assert "(https://support.example.com/help/lost-2fa)" in whole
