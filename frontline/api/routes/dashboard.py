"""``/dashboard``: the service-ops manager's pages over ``frontline.analytics``.

Sign-in is a form that posts the admin token once and gets an HttpOnly, SameSite cookie
session (signed with a key derived from the token, so changing the token signs everyone out);
the token is never put in a URL. Every change (drafting an article, triaging feedback,
signing out) is a POST carrying a CSRF token bound to the session. Pages are server-rendered
(Jinja2); charts are drawn by the vendored Chart.js from JSON embedded in the page, and every
chart has its table. Every table has a CSV export. Simulated records (``frontline simulate``)
can be hidden with one toggle.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import threading
import time
from collections import Counter
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from frontline.analytics import Analytics, InvalidPeriod, Period, Scope
from frontline.analytics.breakdown import DIMENSIONS, METRICS, Breakdown, UnknownMetric
from frontline.analytics.drilldown import Table, UnknownDrill
from frontline.analytics.gaps import SOURCES, InvalidDraft, write_draft
from frontline.analytics.periods import PRESETS
from frontline.analytics.report import fmt, fmt_change
from frontline.api.deps import Offset, RowNumber, ServicesDep, get_services
from frontline.errors import FeedbackNotFound, InvalidFeedback
from frontline.feedback import AREA_LABELS, STATUS_LABELS
from frontline.feedback.process import TRANSITIONS
from frontline.services import Services
from frontline.settings import PROJECT_DIR

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/dashboard", tags=["dashboard"], include_in_schema=False)
HERE = Path(__file__).resolve().parent.parent / "dashboard"
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
COOKIE = "frontline_dashboard"
PRE_COOKIE = "frontline_dashboard_signin"
METRICS_DOC = PROJECT_DIR / "docs" / "metrics.md"
PAGE_ROWS = 100
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
       "object-src 'none'")
SIGN_IN_LIMIT = 10  # failed sign-ins per client per minute


# -- sessions and CSRF ---------------------------------------------------------------------------
def _key(services: Services) -> bytes | None:
    token = services.settings.admin_token.get_secret_value()
    if not token:
        return None
    return hmac.new(token.encode(), b"frontline dashboard session v1", hashlib.sha256).digest()


def _sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _new_session(key: bytes, hours: int) -> str:
    payload = f"{int(time.time()) + hours * 3600}:{secrets.token_urlsafe(16)}"
    return base64.urlsafe_b64encode(payload.encode()).decode() + "." + _sign(key, payload)


def _session_nonce(key: bytes, cookie: str | None) -> str | None:
    """The session's nonce when the cookie is genuine and not expired."""
    if not cookie or "." not in cookie:
        return None
    encoded, signature = cookie.rsplit(".", 1)
    try:
        payload = base64.urlsafe_b64decode(encoded.encode()).decode()
        expires, nonce = payload.split(":", 1)
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(signature, _sign(key, payload)) or int(expires) < time.time():
        return None
    return nonce


def _csrf(key: bytes, nonce: str) -> str:
    return _sign(key, f"csrf:{nonce}")


class SignedIn:
    def __init__(self, key: bytes, nonce: str) -> None:
        self.csrf = _csrf(key, nonce)
        self._key = key
        self._nonce = nonce

    def check(self, request: Request, token: str) -> None:
        """A POST must carry this session's CSRF token and come from this site."""
        origin = request.headers.get("origin")
        if origin and origin.rstrip("/") != str(request.base_url).rstrip("/"):
            raise forbidden("this form was sent from another site")
        if not hmac.compare_digest(token or "", self.csrf):
            raise forbidden("the form expired; reload the page and try again")


def forbidden(detail: str) -> HTTPException:
    return HTTPException(status_code=403, detail=detail)


def signed_in(request: Request) -> SignedIn:
    """The session, or a redirect (303) to the sign-in form that comes back here."""
    key = _key(get_services(request))
    nonce = _session_nonce(key, request.cookies.get(COOKIE)) if key else None
    if key is None or nonce is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/dashboard"
        raise HTTPException(status_code=303, detail="sign in first", headers={
            "Location": f"/dashboard/sign-in?{urlencode({'next': target})}"})
    return SignedIn(key, nonce)


Session = Annotated[SignedIn, Depends(signed_in)]


class _Failures:
    """Failed sign-ins per client in the last minute (per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, list[float]] = {}

    def too_many(self, client: str) -> bool:
        with self._lock:
            now = time.monotonic()
            recent = [t for t in self._times.get(client, []) if now - t < 60]
            self._times[client] = recent
            return len(recent) >= SIGN_IN_LIMIT

    def add(self, client: str) -> None:
        with self._lock:
            self._times.setdefault(client, []).append(time.monotonic())


failures = _Failures()


def get_analytics(request: Request) -> Analytics:
    state = request.app.state
    analytics = getattr(state, "analytics", None)
    if analytics is None:
        services = get_services(request)
        analytics = Analytics(services.db, services.settings, services.knowledge)
        state.analytics = analytics
    return analytics  # type: ignore[no-any-return]


AnalyticsDep = Annotated[Analytics, Depends(get_analytics)]


# -- page helpers ----------------------------------------------------------------------------
class View:
    """What every page needs: the period chosen, the comparison, the simulated toggle."""

    def __init__(self, request: Request, analytics: Analytics, session: SignedIn | None) -> None:
        q = request.query_params
        self.request = request
        self.session = session
        self.days = q.get("days", "")
        self.first = q.get("from", "")
        self.last = q.get("to", "")
        self.real = q.get("real") == "1"
        self.error = ""
        try:
            if self.days == "custom" or (not self.days and (self.first or self.last)):
                self.days = "custom"
                self.period = analytics.period(first=self.first or None, last=self.last or None)
            else:
                days = int(self.days) if self.days.isdigit() else 30
                self.days = str(days)
                self.period = analytics.period(days=days)
        except InvalidPeriod as exc:
            self.error = str(exc)
            self.days = "30"
            self.period = analytics.period(days=30)
        self.scope = Scope(hide_simulated=self.real)

    def params(self, **extra: Any) -> dict[str, str]:
        out = {"days": self.days}
        if self.days == "custom":
            out.update({"from": self.period.first.isoformat(), "to": self.period.last.isoformat()})
        if self.real:
            out["real"] = "1"
        out.update({k: str(v) for k, v in extra.items() if v is not None and v != ""})
        return out

    def url(self, path: str, **extra: Any) -> str:
        return f"/dashboard{path}?{urlencode(self.params(**extra))}"

    def context(self, page: str, **extra: Any) -> dict[str, Any]:
        return {"view": self, "page": page, "period": self.period,
                "previous": self.period.previous(), "presets": PRESETS,
                "csrf": self.session.csrf if self.session else "", **extra}


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    _secure_headers(response)
    return response


def _secure_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"


def _local_next(value: str | None) -> str:
    """Only a dashboard path is a place to go back to after signing in."""
    if value and value.startswith("/dashboard") and "//" not in value and "\\" not in value:
        return value
    return "/dashboard"


# -- sign-in -----------------------------------------------------------------------------------
@router.get("/sign-in")
def sign_in_page(request: Request, services: ServicesDep,
                 next: str = "/dashboard") -> Response:
    key = _key(services)
    if key is None:
        return render(request, "disabled.html", {"page": "sign-in"}, 403)
    pre = secrets.token_urlsafe(16)
    response = render(request, "sign_in.html", {
        "page": "sign-in", "next": _local_next(next), "csrf": _sign(key, f"signin:{pre}"),
        "error": ""})
    _set_cookie(request, response, PRE_COOKIE, pre, 600)
    return response


@router.post("/sign-in")
def sign_in(request: Request, services: ServicesDep,
            token: Annotated[str, Form(max_length=1000)] = "",
            csrf: Annotated[str, Form(max_length=200)] = "",
            next: Annotated[str, Form(max_length=2000)] = "/dashboard") -> Response:
    key = _key(services)
    if key is None:
        return render(request, "disabled.html", {"page": "sign-in"}, 403)
    client = request.client.host if request.client else "?"
    pre = request.cookies.get(PRE_COOKIE, "")
    problem = ""
    if failures.too_many(client):
        problem = "Too many failed attempts. Wait a minute and try again."
    elif not pre or not hmac.compare_digest(csrf, _sign(key, f"signin:{pre}")):
        problem = "The sign-in form expired. Please try again."
    elif not secrets.compare_digest(
            token.strip().encode(), services.settings.admin_token.get_secret_value().encode()):
        failures.add(client)
        problem = "That is not the admin token."
    if problem:
        fresh = secrets.token_urlsafe(16)
        response = render(request, "sign_in.html", {
            "page": "sign-in", "next": _local_next(next), "error": problem,
            "csrf": _sign(key, f"signin:{fresh}")}, 401)
        _set_cookie(request, response, PRE_COOKIE, fresh, 600)
        return response
    response = RedirectResponse(_local_next(next), status_code=303)
    _set_cookie(request, response, COOKIE,
                _new_session(key, services.settings.dashboard_session_hours),
                services.settings.dashboard_session_hours * 3600)
    response.delete_cookie(PRE_COOKIE, path="/dashboard", httponly=True, samesite="lax",
                           secure=_secure(request))
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: Session,
             csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    session.check(request, csrf)
    response = RedirectResponse("/dashboard/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="lax",
                           secure=_secure(request))
    return response


def _secure(request: Request) -> bool:
    """Cookies are ``Secure`` when this request came over https, or when the service's public
    address is https: behind a proxy that ends TLS, the request reaching us is plain http."""
    public_url = request.app.state.services.settings.public_url
    return request.url.scheme == "https" or public_url.lower().startswith("https://")


def _set_cookie(request: Request, response: Response, name: str, value: str,
                max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/dashboard", httponly=True,
                        samesite="lax", secure=_secure(request))


# -- pages ---------------------------------------------------------------------------------------
@router.get("")
def overview(request: Request, analytics: AnalyticsDep, session: Session) -> Response:
    view = View(request, analytics, session)
    o = analytics.overview(view.period, view.scope)
    charts = {f.key: {"label": f.label, "unit": f.unit,
                      "days": [d.isoformat() for d, _ in f.daily],
                      "values": [v for _, v in f.daily]} for f in o.figures}
    return render(request, "overview.html", view.context(
        "overview", overview=o, charts=json.dumps(charts), tables=o.tables(),
        csat=o.current.csat, nps=o.current.nps))


@router.get("/why/{metric}")
def why(metric: str, request: Request, analytics: AnalyticsDep, session: Session) -> Response:
    view = View(request, analytics, session)
    if metric not in METRICS:
        return render(request, "error.html", view.context(
            "why", message=f"There is no breakdown for {metric!r}."), 404)
    result = analytics.why(metric, view.period, view.scope)
    return render(request, "why.html", view.context(
        "why", result=result, dimensions=DIMENSIONS, metric=metric))


@router.get("/drill/{drill}")
def drill(drill: str, request: Request, analytics: AnalyticsDep, session: Session,
          offset: Offset = 0) -> Response:
    view = View(request, analytics, session)
    try:
        table = analytics.drill.table(drill, view.period, view.scope,
                                      **_drill_options(request))
    except UnknownDrill as exc:
        return render(request, "error.html", view.context("drill", message=str(exc)), 404)
    return render(request, "drill.html", view.context(
        "drill", table=table.page(offset, PAGE_ROWS), total=len(table.rows), offset=offset,
        page_rows=PAGE_ROWS, drill=drill, options=_drill_options(request)))


def _drill_options(request: Request) -> dict[str, str]:
    keys = ("filter", "outcome", "metric", "dim", "value", "when")
    return {k: request.query_params[k][:200] for k in keys if k in request.query_params}


@router.get("/conversations/{session_id}")
def conversation(session_id: str, request: Request, analytics: AnalyticsDep,
                 session: Session) -> Response:
    view = View(request, analytics, session)
    transcript = analytics.drill.transcript(session_id[:128])
    if not transcript.messages and not transcript.events:
        return render(request, "error.html", view.context(
            "drill", message="No conversation with that id."), 404)
    return render(request, "conversation.html", view.context("drill", transcript=transcript))


@router.get("/tickets/{number}")
def ticket(number: RowNumber, request: Request, analytics: AnalyticsDep,
           session: Session) -> Response:
    view = View(request, analytics, session)
    session_id = analytics.drill.ticket_session(number)
    if session_id:
        return RedirectResponse(view.url(f"/conversations/{session_id}"), status_code=303)
    return render(request, "error.html", view.context(
        "drill", message=f"Ticket #{number} has no chat conversation to show."), 404)


@router.get("/articles")
def articles(request: Request, analytics: AnalyticsDep, session: Session) -> Response:
    view = View(request, analytics, session)
    rows = analytics.metrics.articles(view.period, view.scope)
    return render(request, "articles.html", view.context(
        "articles", rows=rows, threshold=analytics.settings.article_review_threshold,
        min_votes=analytics.settings.article_review_min_votes))


@router.get("/gaps")
def gaps(request: Request, analytics: AnalyticsDep, session: Session,
         drafted: str = "") -> Response:
    view = View(request, analytics, session)
    clusters = analytics.gap_clusters(view.period, view.scope)
    return render(request, "gaps.html", view.context(
        "gaps", clusters=clusters, drafted=Path(drafted).name if drafted else "",
        error=request.query_params.get("error", ""), sources=SOURCES))


@router.post("/gaps/draft")
async def draft(request: Request, analytics: AnalyticsDep, session: Session) -> Response:
    form = await request.form()
    session.check(request, str(form.get("csrf", "")))
    view = View(request, analytics, session)
    title = str(form.get("title", ""))[:200]
    questions = [str(q)[:1000] for q in form.getlist("question")][:100]
    closest = str(form.get("closest", ""))[:200] or None
    drafts = analytics.settings.kb_dir / "_drafts"
    try:
        path = await run_in_threadpool(write_draft, drafts, title, questions, closest=closest)
    except InvalidDraft as exc:
        return RedirectResponse(view.url("/gaps", error=str(exc)), status_code=303)
    logger.info("KB gap drafted as %s", path)
    return RedirectResponse(view.url("/gaps", drafted=path.name), status_code=303)


@router.get("/feedback")
def feedback(request: Request, analytics: AnalyticsDep, services: ServicesDep,
             session: Session, status: str = "") -> Response:
    view = View(request, analytics, session)
    summary = analytics.metrics.feedback(view.period, view.scope)
    items = summary.items
    if status in STATUS_LABELS or status == "open":
        items = []
        for s in (("new", "planned") if status == "open" else (status,)):
            items += services.feedback.find(status=s, limit=200)[0]
        items.sort(key=lambda i: i.id, reverse=True)
    return render(request, "feedback.html", view.context(
        "feedback", summary=summary, items=items, status=status, areas=AREA_LABELS,
        statuses=STATUS_LABELS, transitions=TRANSITIONS,
        saved=request.query_params.get("saved", ""),
        error=request.query_params.get("error", "")))


@router.post("/feedback/{item_id}")
def triage(item_id: RowNumber, request: Request, analytics: AnalyticsDep, services: ServicesDep,
           session: Session, csrf: Annotated[str, Form(max_length=200)] = "",
           status: Annotated[str, Form(max_length=16)] = "",
           reply: Annotated[str, Form(max_length=4000)] = "",
           back: Annotated[str, Form(max_length=40)] = "") -> Response:
    session.check(request, csrf)
    view = View(request, analytics, session)
    extra = {"status": back} if back else {}
    try:
        services.feedback.update(item_id, status=status or None, reply=reply)
    except (InvalidFeedback, FeedbackNotFound) as exc:
        return RedirectResponse(view.url("/feedback", error=exc.detail, **extra),
                                status_code=303)
    return RedirectResponse(view.url("/feedback", saved=str(item_id), **extra) +
                            f"#feedback-{item_id}", status_code=303)


@router.get("/metrics")
def metric_definitions(request: Request, analytics: AnalyticsDep, session: Session) -> Response:
    """docs/metrics.md, rendered (raw HTML in it is not passed through)."""
    view = View(request, analytics, session)
    return render(request, "metrics.html", view.context("metrics", body=_metrics_html()))


@lru_cache(maxsize=1)
def _metrics_html() -> str:
    from markdown_it import MarkdownIt

    text = METRICS_DOC.read_text(encoding="utf-8") if METRICS_DOC.exists() else (
        "# Metrics\n\nThe definitions are in `docs/metrics.md` of the Frontline repository.")
    renderer = MarkdownIt("js-default")  # no raw HTML; tables on
    html = renderer.render(text)
    # Headings get ids, so the pages can link to a section.
    return re.sub(r"<h([23])>(.*?)</h\1>", _heading, html)


def _heading(match: re.Match[str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", re.sub(r"<[^>]+>", "", match.group(2)).lower()).strip("-")
    return f'<h{match.group(1)} id="{slug}">{match.group(2)}</h{match.group(1)}>'


# -- CSV exports ---------------------------------------------------------------------------------
@router.get("/export.csv")
def export(request: Request, analytics: AnalyticsDep, session: Session,
           table: Annotated[str, Query(max_length=80)] = "figures") -> Response:
    view = View(request, analytics, session)
    try:
        columns, rows = _export_table(table, view, analytics, request)
    except (KeyError, UnknownDrill, UnknownMetric):
        return Response(f"no table {table!r}\n", status_code=404, media_type="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    name = f"frontline-{table}-{view.period.first}-{view.period.last}.csv"
    response = Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})
    _secure_headers(response)
    return response


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is exported quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, float):
        return round(value, 6)
    return value


def _export_table(name: str, view: View, analytics: Analytics,
                  request: Request) -> tuple[list[str], list[list[Any]]]:
    period, scope = view.period, view.scope
    if name.startswith("why-"):
        metric, _, dim = name[4:].rpartition("-")
        if dim not in DIMENSIONS:
            raise KeyError(name)
        result = analytics.why(metric, period, scope)
        return Breakdown.COLUMNS, result.rows(dim)
    if name == "drill":
        table = analytics.drill.table(request.query_params.get("drill", ""), period, scope,
                                      **_drill_options(request))
        return table.columns, table.rows
    if name == "articles":
        return ARTICLE_COLUMNS, [article_row(a) for a in analytics.metrics.articles(period,
                                                                                    scope)]
    if name == "gaps":
        return GAP_COLUMNS, [gap_row(c) for c in analytics.gap_clusters(period, scope)]
    if name.startswith("feedback"):
        summary = analytics.metrics.feedback(period, scope)
        if name == "feedback":
            return ["id", "created", "area", "impact", "status", "what happened",
                    "what would help", "reply"], [
                [i.id, i.created_at.date().isoformat(), i.area, i.impact, i.status,
                 i.what_happened, i.what_would_help, i.reply] for i in summary.items]
        counts: dict[str, Counter[str]] = {"feedback_by_area": summary.by_area,
                                           "feedback_by_impact": summary.by_impact,
                                           "feedback_by_status": summary.by_status}
        return [name.removeprefix("feedback_by_"), "items"], sorted(
            [list(kv) for kv in counts[name].items()])
    columns, rows = analytics.overview(period, scope).tables()[name]
    return columns, rows


ARTICLE_COLUMNS = ["article", "title", "shown", "conversations", "customers yes",
                   "customers no", "reps up", "reps down", "reasons", "helpfulness",
                   "deflection", "needs review"]
GAP_COLUMNS = ["title", "questions", "previous period", "trend", "sources", "examples",
               "closest article", "closest certainty"]


def article_row(a: Any) -> list[Any]:
    return [a.article_id, a.title, a.shown, a.shown_sessions, a.yes, a.no, a.rep_up,
            a.rep_down, "; ".join(f"{k}: {v}" for k, v in sorted(a.reasons.items())),
            a.helpfulness, a.deflection, "yes" if a.needs_review else "no"]


def gap_row(c: Any) -> list[Any]:
    return [c.title, c.count, c.previous, c.trend,
            "; ".join(f"{k}: {v}" for k, v in sorted(c.sources.items())),
            " | ".join(q for q, _ in c.examples),
            c.closest[0] if c.closest else "", round(c.closest[2], 4) if c.closest else ""]


@router.get("/static/{path:path}")
def static(path: str) -> Response:
    target = (STATIC / path).resolve()
    if not target.is_file() or STATIC.resolve() not in target.parents:
        return Response("not found\n", status_code=404, media_type="text/plain")
    media = {".js": "text/javascript", ".css": "text/css", ".md": "text/markdown",
             ".svg": "image/svg+xml"}.get(target.suffix)
    return FileResponse(target, media_type=media,
                        headers={"Cache-Control": "public, max-age=3600",
                                 "X-Content-Type-Options": "nosniff"})


# -- template helpers ------------------------------------------------------------------------------
def _fmt_day(value: date) -> str:
    return value.strftime("%a %d %b")


def drill_url(view: View, drill: str) -> str:
    """A figure's drill-down ("tickets?filter=opened") as a dashboard URL."""
    name, _, query = drill.partition("?")
    extra = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    return view.url(f"/drill/{name}", **extra)


templates.env.filters["fmt"] = fmt
templates.env.filters["fmt_change"] = fmt_change
templates.env.filters["day"] = _fmt_day
templates.env.globals.update(
    DIMENSIONS=DIMENSIONS, METRICS=METRICS, ARTICLE_COLUMNS=ARTICLE_COLUMNS,
    GAP_COLUMNS=GAP_COLUMNS, article_row=article_row, gap_row=gap_row, Period=Period,
    Table=Table, drill_url=drill_url,
)

