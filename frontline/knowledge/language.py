"""Which language a customer wrote in, and what to say when the KB is not written in it.

Detection uses lingua (its models ship inside the wheel; nothing is downloaded). A message is
called foreign only on clear evidence — a few words, one language far ahead, and the KB's own
languages unlikely — so "ok", "gantt chart" or an error code never trigger it. Then the
assistant says honestly, in the customer's language where it can, that it answers in the KB's
language only, and offers a person or a ticket: it never answers from a match found by accident.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

# ISO 639-1 codes lingua knows that support teams meet most; the KB's own are added to these.
DETECTED = ("en", "es", "de", "fr", "it", "pt", "nl", "pl", "sv", "da", "nb", "fi", "tr", "ru",
            "uk", "cs", "ro", "hu", "el", "ja", "zh", "ko", "ar", "he", "hi", "id", "vi")
MIN_WORDS = 3
MIN_CONFIDENCE = 0.4  # the top language's share
OWN_RATIO = 3.0  # ... at least this many times the KB's own languages' share
WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)

NAMES = {"en": "English", "es": "Spanish", "de": "German", "fr": "French", "it": "Italian",
         "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "sv": "Swedish"}
# "I can only answer in English for now. I can file a ticket for our support team, or
# connect you with a person." — in the customer's language where we have it.
ONLY_IN = {
    "en": "I'm sorry — I can only answer in {kb} for now. I can file a ticket for our support "
          "team, or connect you with a person.",
    "es": "Lo siento, por ahora solo puedo responder en inglés. Puedo crear una solicitud para "
          "nuestro equipo de soporte o ponerte en contacto con una persona.",
    "de": "Entschuldigung – ich kann im Moment nur auf Englisch antworten. Ich kann ein Ticket "
          "für unser Support-Team anlegen oder Sie mit einer Person verbinden.",
    "fr": "Désolé, je ne peux répondre qu'en anglais pour le moment. Je peux créer un ticket "
          "pour notre équipe d'assistance ou vous mettre en relation avec une personne.",
    "it": "Mi dispiace, per ora posso rispondere solo in inglese. Posso aprire un ticket per il "
          "nostro team di assistenza o metterti in contatto con una persona.",
    "pt": "Desculpe, por enquanto só consigo responder em inglês. Posso abrir um pedido para a "
          "nossa equipa de suporte ou ligá-lo a uma pessoa.",
    "nl": "Sorry, ik kan voorlopig alleen in het Engels antwoorden. Ik kan een ticket voor ons "
          "supportteam aanmaken of u met een medewerker verbinden.",
}
BUTTONS = {
    "en": ("File a ticket", "Talk to a person"),
    "es": ("Crear una solicitud", "Hablar con una persona"),
    "de": ("Ticket anlegen", "Mit einer Person sprechen"),
    "fr": ("Créer un ticket", "Parler à une personne"),
    "it": ("Apri un ticket", "Parla con una persona"),
    "pt": ("Abrir um pedido", "Falar com uma pessoa"),
    "nl": ("Ticket aanmaken", "Met een medewerker praten"),
}


@dataclass(frozen=True)
class Foreign:
    """A message written in a language the KB is not written in."""

    code: str  # ISO 639-1
    confidence: float

    def reply(self, kb_languages: tuple[str, ...]) -> tuple[str, tuple[str, str]]:
        """What to say (in the customer's language when we have it) and the two buttons."""
        if self.code in ONLY_IN and kb_languages == ("en",):
            return ONLY_IN[self.code], BUTTONS[self.code]
        kb = " or ".join(NAMES.get(c, c) for c in kb_languages)
        return ONLY_IN["en"].format(kb=kb), BUTTONS["en"]


# One detector per set of languages in a process (each holds ~0.5 GB of models), shared by
# every LanguageCheck: a service builds it once at start-up (KnowledgeBase.warm).
_DETECTORS: dict[tuple[str, ...], Any] = {}
_DETECTORS_LOCK = threading.Lock()


class LanguageCheck:
    """Built once (the models load on the first message long enough to judge, or ``warm``)."""

    def __init__(self, kb_languages: tuple[str, ...] = ("en",)) -> None:
        self.kb_languages = kb_languages

    def _load(self) -> Any:
        codes = tuple(dict.fromkeys((*self.kb_languages, *DETECTED)))
        detector = _DETECTORS.get(codes)
        if detector is None:
            with _DETECTORS_LOCK:
                detector = _DETECTORS.get(codes)
                if detector is None:
                    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

                    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper()))
                                 for c in codes if hasattr(IsoCode639_1, c.upper())]
                    detector = LanguageDetectorBuilder.from_languages(*languages).build()
                    _DETECTORS[codes] = detector
        return detector

    def warm(self) -> None:
        """Build the detector now rather than on the first customer's message."""
        self._load()

    def foreign(self, text: str) -> Foreign | None:
        """The message's language when it is clearly not one the KB is written in."""
        if len(WORD.findall(text)) < MIN_WORDS:
            return None
        values = self._load().compute_language_confidence_values(text[:2000])
        if not values:
            return None
        top = values[0]
        code = top.language.iso_code_639_1.name.lower()
        own = sum(v.value for v in values
                  if v.language.iso_code_639_1.name.lower() in self.kb_languages)
        if code in self.kb_languages or top.value < MIN_CONFIDENCE or (
                own * OWN_RATIO > top.value):
            return None
        return Foreign(code, round(float(top.value), 3))
