"""Query shaping: a long, chatty message is searched on what it asks (frontline.knowledge.query),
through the search path the assistant and ``frontline eval`` share (``RankedSearch``)."""

from __future__ import annotations

from pathlib import Path

from frontline.knowledge import Mix, RankedSearch, Thresholds, decide
from frontline.knowledge.decision import rank
from frontline.knowledge.query import asking_part, salient, shape
from frontline.settings import Settings
from indexer import Retriever

CHATTY = (  # the question in the middle, a story around it
    "Hi, I'm the volunteer coordinator at a registered charity in Leeds and we run a food bank "
    "with about thirty helpers. Do you offer a discount for nonprofits, and how do we apply for "
    "it? We started on the Free plan in October and the weekly rota has been much easier since "
    "then. Thanks for building this, Sam"
)


def test_the_part_that_asks_is_the_questions_and_what_went_wrong() -> None:
    message = ("Hello, hope you're having a good week. Our marketing team has grown a lot this "
               "year and we just moved everyone over from spreadsheets. Since this morning the "
               "import stops with \"Import failed: file is not UTF-8 encoded\" on every file. "
               "How do I save the file so the import accepts it? Cheers, Tom")
    part = asking_part(message)
    assert part is not None
    assert "not UTF-8 encoded" in part and "How do I save the file" in part
    assert "marketing team" not in part and "Cheers" not in part


def test_a_message_without_backstory_is_searched_as_it_is() -> None:
    # the rest has too few topic words to dilute anything
    assert asking_part("can we pay by wire transfer? we're on annual") is None
    # the question leans on the sentence before it: alone it would say too little
    assert asking_part("I want a client to only be able to look at one project, no edits or "
                       "comments. how do i set that up?") is None
    assert asking_part("how do I reset my password") is None


def test_pasted_log_lines_without_an_error_are_left_out_of_the_asking_part() -> None:
    log = "\n".join(f"2026-11-28T02:00:{i:02d}Z INFO sync batch={i} ok" for i in range(20))
    message = (f"Our nightly job broke after we added more zaps.\n{log}\n"
               "2026-11-28T02:00:21Z ERROR TL-429 Too many requests\n"
               "What is the limit per minute on the Team plan?")
    part = asking_part(message)
    assert part is not None
    assert "TL-429" in part and "limit per minute" in part
    assert "batch=" not in part


def test_a_message_longer_than_the_limit_is_cut_to_its_salient_part() -> None:
    lines = [f"2026-11-30 10:{i % 60:02d}:00 INFO heartbeat ok batch={i}" for i in range(400)]
    message = ("The Jira import keeps failing.\n" + "\n".join(lines)
               + "\n2026-11-30 11:00:00 ERROR TL-429 too many requests\n"
               "What should we change so the import works again?")
    shaped = shape(message, 1000)
    assert len(shaped.searched) <= 1000
    assert "TL-429" in shaped.searched and "What should we change" in shaped.searched
    assert shaped.searched == salient(message, 1000)
    short = "How do I export my data?"
    assert shape(short, 1000).searched == short and shape(short, 1000).asking is None


def test_a_chatty_message_is_answered_with_the_article_it_asks_about(
        sample_index: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    mix = Mix(settings.confidence_blend, settings.coverage_weight)
    thresholds = Thresholds(settings.answer_threshold, settings.clarify_threshold,
                            settings.clarify_margin)
    retriever = Retriever(sample_index / "index", real_embedder)
    shaped = RankedSearch(retriever, mix).search(CHATTY, "public", 10)
    whole = rank(retriever.search(CHATTY, "public", 10), mix)
    assert shaped[0].article_id == whole[0].article_id == "nonprofit-and-education-discount"
    # the greeting and the story about Trello no longer dilute the coverage
    assert shaped[0].coverage is not None and whole[0].coverage is not None
    assert shaped[0].coverage > whole[0].coverage
    assert decide(whole, thresholds, CHATTY).outcome != "answer"
    answered = decide(shaped, thresholds, CHATTY)
    assert answered.outcome == "answer" and answered.best is not None
    assert answered.best.article_id == "nonprofit-and-education-discount"


def test_a_chatty_question_the_kb_does_not_answer_is_not_answered(
        sample_index: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    search = RankedSearch(Retriever(sample_index / "index", real_embedder),
                          Mix(settings.confidence_blend, settings.coverage_weight))
    message = ("Hi, our engineers host their code on a self-managed GitLab instance, not on "
               "GitHub, and we really like how the GitHub integration shows pull requests on "
               "tasks. Is there a GitLab integration that links merge requests to tasks the "
               "same way? Thanks!")
    decision = decide(search.search(message, "public", 10),
                      Thresholds(settings.answer_threshold, settings.clarify_threshold,
                                 settings.clarify_margin), message)
    assert decision.outcome != "answer"


def test_the_asking_part_is_scored_on_the_version_the_hits_came_from(
        sample_index: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    """A reindex published between the search and the asking part's coverage must not mix two
    versions: the search path reads ``current()`` once."""
    retriever = Retriever(sample_index / "index", real_embedder)
    version = retriever.current()
    reads = []

    def current():  # type: ignore[no-untyped-def]
        reads.append(1)
        return version

    retriever.current = current  # type: ignore[method-assign]
    hits = RankedSearch(retriever, Mix(0.0, 2.0)).search(CHATTY, "public", 10)
    assert hits[0].article_id == "nonprofit-and-education-discount"
    assert len(reads) == 1
