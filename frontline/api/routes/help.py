"""``/help``: the public help centre, server-rendered (Jinja2), working without JavaScript.

``/help`` lists the categories (the articles' tags), the most viewed articles and a search box;
``/help/{id}`` is one public article (``frontline.knowledge.pages``); ``/help/search?q=`` runs
the bot's retriever and decision. An internal article and an unknown id answer the same 404
page. Events (channel ``help``): ``help_view`` per article page, ``help_search`` for a search
with no good result (a KB gap), ``help_vote`` per "Was this article helpful?" vote (decision
``yes``/``no``).

``GET /api/suggest?q=`` is for the widget's suggestions while a customer types: up to 3
public articles that the decision would at least offer, rate-limited per client address.

Pages are cacheable: each carries an ETag made from the published index version (and the
article's text, the page's own state, the templates and the brand colour), a Last-Modified of
the version's build time and ``Cache-Control: no-cache``, so a browser revalidates, gets a 304
while nothing changed (a view is still counted) and the new text right after a reindex. The
only script on the pages is ``static/help.js`` (search as you type) and the chat widget; the
colours come from ``FRONTLINE_BRAND_COLOR`` through ``/help/theme.css``.

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
from email.utils import formatdate
from functools import lru_cache
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
from frontline.errors import ArticleNotFound, IndexNotReady, InvalidQuery
from frontline.knowledge import level
from frontline.knowledge.links import help_url, section_anchor
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
SUGGEST_MIN_CHARS = 3
SUGGESTIONS = 3
ARTICLE_CACHE = "private, no-cache"  # the vote form is the visitor's own
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
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


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


def render(request: Request, name: str, context: dict[str, Any], status: int = 200,
           cache: tuple[str, float] | None = None) -> Response:
    """A page; ``cache`` is its (ETag, last modified) when it may be revalidated."""
    brand = get_services(request).settings.brand_color
    response = templates.TemplateResponse(
        request, name, {"brand": brand, "theme": _theme_tag(brand), "assets": _assets(), **context},
        status_code=status)
    if cache is not None:
        _validators(response, *cache)
    return _headers(response)


# -- caching -------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _assets() -> str:
    """Digest of the templates and static files: a deploy that changes them changes every
    ETag."""
    digest = hashlib.sha256()
    for path in sorted(p for p in HERE.rglob("*") if p.is_file()):
        digest.update(path.relative_to(HERE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def etag(*parts: object) -> str:
    """A weak ETag over ``parts`` (the index version and whatever else the page shows)."""
    text = "\0".join(str(p) for p in (_assets(), *parts))
    return 'W/"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def _validators(response: Response, tag: str, modified: float) -> None:
    response.headers["ETag"] = tag
    response.headers["Last-Modified"] = formatdate(modified, usegmt=True)


def not_modified(request: Request, tag: str, modified: float,
                 cache_control: str = "no-cache") -> Response | None:
    """A 304 when the request's ``If-None-Match`` holds ``tag`` (weak comparison), else None.
    ``If-Modified-Since`` alone is not enough: a page can change without a reindex (most
    viewed, the vote form's token), which only the ETag knows."""
    header = request.headers.get("if-none-match", "")
    if not header:
        return None
    bare = tag.removeprefix("W/")
    given = {t.strip().removeprefix("W/") for t in header.split(",")}
    if "*" not in given and bare not in given:
        return None
    response = Response(status_code=304, headers={"Cache-Control": cache_control})
    _validators(response, tag, modified)
    return _headers(response)


# -- theme ---------------------------------------------------------------------------------------
def _luminance(rgb: tuple[int, ...]) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


WHITE, INK = (255, 255, 255), (17, 24, 39)


def theme(brand: str) -> dict[str, str]:
    """The help pages' colours from the brand colour (``#rrggbb``), as the widget picks its
    own: ``accent`` is the brand darkened just enough for 4.5:1 on white (links, buttons,
    focus rings) and ``on_accent`` the text on it (white or near-black, the better one)."""
    rgb = tuple(int(brand[i:i + 2], 16) for i in (1, 3, 5))
    accent = rgb
    for step in range(21):
        accent = tuple(round(v * (1 - step / 20)) for v in rgb)
        if _contrast(accent, WHITE) >= 4.5:
            break
    on = WHITE if _contrast(WHITE, accent) >= _contrast(INK, accent) else INK
    return {"accent": "#" + bytes(accent).hex(), "on_accent": "#" + bytes(on).hex()}


def _theme_tag(brand: str) -> str:
    return hashlib.sha256(brand.lower().encode()).hexdigest()[:10]


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
        version, built = await run_in_threadpool(centre.version)
        viewed = await run_in_threadpool(services.events.most_viewed, MOST_VIEWED * 2)
        popular = [s for s in (centre.summary(a) for a, _ in viewed)
                   if s is not None][:MOST_VIEWED]
        tag = etag("home", version, services.settings.brand_color, *(s.id for s in popular))
        if (cached := not_modified(request, tag, built)) is not None:
            return cached
        categories = await run_in_threadpool(centre.categories)
    except IndexNotReady:
        return unavailable(request)
    return render(request, "home.html", {"categories": categories, "popular": popular, "q": ""},
                  cache=(tag, built))


@router.get("/help/theme.css", include_in_schema=False)
def theme_css(request: Request, services: ServicesDep) -> Response:
    """The brand colours as CSS variables (``FRONTLINE_BRAND_COLOR``)."""
    colors = theme(services.settings.brand_color)
    css = (f":root {{ --accent: {colors['accent']}; --on-accent: {colors['on_accent']}; "
           f"--brand: {services.settings.brand_color.lower()}; }}\n")
    return Response(css, media_type="text/css", headers={
        "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


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
    try:
        version, built = await run_in_threadpool(get_help(request).version)
    except IndexNotReady:
        return unavailable(request)
    tag = etag("search", version, services.settings.brand_color, query)
    if (cached := not_modified(request, tag, built)) is not None:
        return cached
    return render(request, "search.html", context, cache=(tag, built))


def _record_gap(services: Services, query: str, outcome: str,
                hits: list[dict[str, Any]]) -> None:
    services.events.record("help_search", channel="help", query=query, decision=outcome,
                           hits=hits)


@router.get("/help/static/{path:path}", include_in_schema=False)
def static(path: str) -> Response:
    target = (STATIC / path).resolve()
    if not target.is_file() or STATIC.resolve() not in target.parents:
        return Response("not found\n", status_code=404, media_type="text/plain")
    media = {".css": "text/css", ".svg": "image/svg+xml",
             ".js": "text/javascript"}.get(target.suffix)
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
        version, built = await run_in_threadpool(centre.version)
    except ArticleNotFound:
        return not_found(request)
    except IndexNotReady:
        return unavailable(request)
    if not voted:
        # A widget suggestion opened (``?from=suggest``) is a view marked "suggest"; a
        # revalidated page (304) is a view too.
        await run_in_threadpool(services.events.record, "help_view", channel="help",
                                article_id=article_id,
                                decision="suggest" if source == "suggest" else None)
    known = request.cookies.get(COOKIE, "")
    nonce = known or secrets.token_urlsafe(16)
    # The page holds a vote token signed over the visitor's nonce: it is in the tag, and so is
    # the half-day the token was made in, so a cached form is at most 12 h old when served.
    tag = etag("article", version, page.content_hash, services.settings.brand_color, voted,
               nonce, int(time.time()) // (TOKEN_MAX_AGE // 2))
    if known and (cached := not_modified(request, tag, built, ARTICLE_CACHE)) is not None:
        return cached
    try:
        related = await run_in_threadpool(centre.related, article_id)
    except IndexNotReady:
        return unavailable(request)
    response = _article_page(request, page, related, voted, nonce=nonce)
    _validators(response, tag, built)
    return response


def _article_page(request: Request, page: Any, related: Any, voted: str,
                  status: int = 200, nonce: str = "") -> Response:
    nonce = nonce or request.cookies.get(COOKIE) or secrets.token_urlsafe(16)
    response = render(request, "article.html", {
        "page": page, "related": related, "voted": voted, "missing": MISSING, "q": "",
        "token": _token(nonce, page.id, int(time.time())),
        "action": f"/help/{quote(page.id, safe='')}/feedback",
        "canonical": help_url(page.id, get_services(request).settings.public_url),
    }, status)
    response.headers["Cache-Control"] = ARTICLE_CACHE
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
    """The article's help-centre page (at the matching section), marked ``?from=suggest`` so
    opening it counts as a suggestion opened. Always the help page, even when the article has
    a ``url:`` of its own (answers link there): only this service can count the open."""
    anchor = section_anchor(hit.heading) if hit.heading else ""
    return (help_url(hit.article_id, public_url) + "?from=suggest"
            + (f"#{anchor}" if anchor else ""))
