"""``/help``: the public help centre, server-rendered (Jinja2), working without JavaScript.

``/help`` lists the categories (the articles' tags), the most viewed articles and a search box;
``/help/{id}`` is one public article (``frontline.knowledge.pages``); ``/help/search?q=`` runs
the bot's retriever and decision. An internal article and an unknown id answer the same 404
page. Events (channel ``help``): ``help_view`` per article page, ``help_search`` for a search
with no good result (a KB gap), ``help_vote`` per "Was this article helpful?" vote (decision
``yes``/``no``).

``GET /api/suggest?q=`` is for the widget's suggestions while a customer types: up to 3
public articles that the decision would at least offer, rate-limited per client address.

The vote form is anonymous, so its CSRF defence is a double submit: the page sets a SameSite
cookie with a random nonce and the form carries a token signed over that nonce, the article and
the time; a vote from another site has neither. Votes are rate-limited per client address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from frontline.analytics.events import hits_summary
from frontline.api.deps import ServicesDep, get_services
from frontline.api.limits import SessionRateLimit
from frontline.errors import ArticleNotFound, IndexNotReady, InvalidQuery
from frontline.knowledge import level
from frontline.knowledge.links import article_link, section_anchor
from frontline.knowledge.pages import HelpCentre
from frontline.services import Services

logger = logging.getLogger(__name__)
router = APIRouter(tags=["help"])
HERE = Path(__file__).resolve().parent.parent / "help"
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["anchor"] = section_anchor
COOKIE = "frontline_help"
TOKEN_MAX_AGE = 24 * 3600
VOTES_PER_MINUTE = 10
MOST_VIEWED = 5
MISSING = {
    "": "",
    "answer": "It didn't answer my question",
    "steps": "Steps were missing or unclear",
    "outdated": "It's out of date",
    "other": "Something else",
}
COMMENT_MAX = 1000
SUGGEST_PER_MINUTE = 60  # per client address: a debounced widget sends a few a message
SUGGEST_MIN_CHARS = 3
SUGGESTIONS = 3
CSP = ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' https: data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
_KEY = secrets.token_bytes(32)  # signs vote tokens; a restart only expires open forms


class _Votes:
    """Votes per client address in the last minute (per process)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._times: dict[str, list[float]] = {}

    def allow(self, client: str) -> bool:
        with self._lock:
            now = time.monotonic()
            if len(self._times) > 10_000:  # forget idle clients
                self._times = {c: t for c, t in self._times.items() if now - t[-1] < 60}
            recent = [t for t in self._times.get(client, []) if now - t < 60]
            if len(recent) >= self.limit:
                self._times[client] = recent
                return False
            self._times[client] = [*recent, now]
            return True


votes = _Votes(VOTES_PER_MINUTE)
suggest_limit = SessionRateLimit(SUGGEST_PER_MINUTE)


def get_help(request: Request) -> HelpCentre:
    state = request.app.state
    centre = getattr(state, "help_centre", None)
    if centre is None:
        centre = HelpCentre(get_services(request).knowledge)
        state.help_centre = centre
    return centre  # type: ignore[no-any-return]


def _token(nonce: str, article_id: str, at: int) -> str:
    mac = hmac.new(_KEY, f"{nonce}\0{article_id}\0{at}".encode(), hashlib.sha256).hexdigest()
    return f"{at}.{mac}"


def _token_ok(nonce: str, article_id: str, token: str) -> bool:
    at, _, _ = token.partition(".")
    if not nonce or not at.isdigit() or time.time() - int(at) > TOKEN_MAX_AGE:
        return False
    return hmac.compare_digest(token, _token(nonce, article_id, int(at)))


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


def not_found(request: Request) -> Response:
    """The one 404 page: the same for an internal article and an unknown id."""
    return render(request, "not_found.html", {"q": ""}, 404)


def unavailable(request: Request) -> Response:
    return render(request, "unavailable.html", {"q": ""}, 503)


# -- pages ---------------------------------------------------------------------------------------
@router.get("/help", include_in_schema=False)
async def home(request: Request, services: ServicesDep) -> Response:
    centre = get_help(request)
    try:
        categories = await run_in_threadpool(centre.categories)
        viewed = await run_in_threadpool(services.events.most_viewed, MOST_VIEWED * 2)
    except IndexNotReady:
        return unavailable(request)
    popular = [s for s in (centre.summary(a) for a, _ in viewed) if s is not None][:MOST_VIEWED]
    return render(request, "home.html", {"categories": categories, "popular": popular, "q": ""})


@router.get("/help/search", include_in_schema=False)
async def search(request: Request, services: ServicesDep,
                 q: Annotated[str, Query(max_length=2000)] = "") -> Response:
    query = q.strip()
    if not query:
        return RedirectResponse("/help", status_code=303)
    context: dict[str, Any] = {"q": query, "hits": [], "error": "",
                               "chat_url": "/?" + urlencode({"ask": query})}
    try:
        decision = await run_in_threadpool(services.knowledge.decide, query, "public")
    except InvalidQuery as exc:
        context["error"] = exc.detail
        return render(request, "search.html", context, 422)
    except IndexNotReady:
        return unavailable(request)
    context["hits"] = decision.hits
    context["outcome"] = decision.outcome
    if decision.outcome == "abstain" or not decision.hits:
        await run_in_threadpool(_record_gap, services, query, decision.outcome,
                                hits_summary(decision.hits))
    return render(request, "search.html", context)


def _record_gap(services: Services, query: str, outcome: str,
                hits: list[dict[str, Any]]) -> None:
    services.events.record("help_search", channel="help", query=query, decision=outcome,
                           hits=hits)


@router.get("/help/static/{path:path}", include_in_schema=False)
def static(path: str) -> Response:
    target = (STATIC / path).resolve()
    if not target.is_file() or STATIC.resolve() not in target.parents:
        return Response("not found\n", status_code=404, media_type="text/plain")
    media = {".css": "text/css", ".svg": "image/svg+xml"}.get(target.suffix)
    return FileResponse(target, media_type=media,
                        headers={"Cache-Control": "public, max-age=3600",
                                 "X-Content-Type-Options": "nosniff"})


@router.get("/help/{article_id}", include_in_schema=False)
async def article(request: Request, article_id: str, services: ServicesDep,
                  voted: str = "",
                  source: Annotated[str, Query(alias="from", max_length=20)] = "") -> Response:
    centre = get_help(request)
    try:
        page = await run_in_threadpool(centre.page, article_id)
        related = await run_in_threadpool(centre.related, article_id)
    except ArticleNotFound:
        return not_found(request)
    except IndexNotReady:
        return unavailable(request)
    if not voted:
        # A widget suggestion opened (``?from=suggest``) is a view marked "suggest".
        await run_in_threadpool(services.events.record, "help_view", channel="help",
                                article_id=article_id,
                                decision="suggest" if source == "suggest" else None)
    return _article_page(request, page, related, voted)


def _article_page(request: Request, page: Any, related: Any, voted: str,
                  status: int = 200) -> Response:
    nonce = request.cookies.get(COOKIE) or secrets.token_urlsafe(16)
    response = render(request, "article.html", {
        "page": page, "related": related, "voted": voted, "missing": MISSING, "q": "",
        "token": _token(nonce, page.id, int(time.time())),
        "action": f"/help/{quote(page.id, safe='')}/feedback",
    }, status)
    response.set_cookie(COOKIE, nonce, max_age=TOKEN_MAX_AGE, path="/help", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/help/{article_id}/feedback", include_in_schema=False)
async def vote(
    request: Request, article_id: str, services: ServicesDep,
    helpful: Annotated[str, Form(max_length=3)] = "",
    token: Annotated[str, Form(max_length=200)] = "",
    missing: Annotated[str, Form(max_length=20)] = "",
    comment: Annotated[str, Form(max_length=COMMENT_MAX)] = "",
) -> Response:
    centre = get_help(request)
    try:
        page = await run_in_threadpool(centre.page, article_id)
    except ArticleNotFound:
        return not_found(request)
    except IndexNotReady:
        return unavailable(request)
    origin = request.headers.get("origin")
    problem, status = "", 200
    if (origin and origin.rstrip("/") != str(request.base_url).rstrip("/")) or not _token_ok(
            request.cookies.get(COOKIE, ""), article_id, token):
        problem, status = "expired", 403
    elif helpful not in ("yes", "no") or missing not in MISSING:
        problem, status = "invalid", 422
    elif not votes.allow(_client(request)):
        problem, status = "limited", 429
    if problem:
        related = await run_in_threadpool(centre.related, article_id)
        return _article_page(request, page, related, problem, status)
    note = comment.strip() if helpful == "no" else ""
    await run_in_threadpool(
        services.events.record, "help_vote", channel="help", article_id=article_id,
        decision=helpful, query=note or None,
        hits=[{"missing": missing}] if helpful == "no" and missing else [],
    )
    target = f"/help/{quote(article_id, safe='')}?voted={helpful}#feedback"
    return RedirectResponse(target, status_code=303)


class Suggestion(BaseModel):
    id: str
    title: str
    url: str
    snippet: str


class Suggestions(BaseModel):
    suggestions: list[Suggestion]


@router.get("/api/suggest", response_model=Suggestions)
async def suggest(request: Request, services: ServicesDep,
                  q: Annotated[str, Query(max_length=2000)] = "") -> Suggestions:
    """Up to 3 public articles for what the customer is typing (none for under 3 characters
    or when nothing is likely enough to offer). Rate-limited per client address."""
    suggest_limit.check(_client(request))
    query = q.strip()
    if len(query) < SUGGEST_MIN_CHARS:
        return Suggestions(suggestions=[])
    knowledge = services.knowledge
    hits = await run_in_threadpool(knowledge.search, query, "public", SUGGESTIONS)
    thresholds = knowledge.thresholds
    public_url = services.settings.public_url
    return Suggestions(suggestions=[
        Suggestion(id=h.article_id, title=h.title, snippet=h.snippet,
                   url=_suggest_url(h, public_url))
        for h in hits[:SUGGESTIONS] if level(h, thresholds) != "low"
    ])


def _suggest_url(hit: Any, public_url: str) -> str:
    """The article's link; a help-centre page is marked ``?from=suggest`` so opening it counts
    as a suggestion opened."""
    url = article_link(hit, public_url, section=hit.heading) or ""
    if hit.url or not url:
        return url
    page, _, anchor = url.partition("#")
    return f"{page}?from=suggest" + (f"#{anchor}" if anchor else "")
