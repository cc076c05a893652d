"""The operations desk in a browser: server-rendered pages over the same hub as the API.

Plain HTML forms and tables (Jinja2), charts drawn as inline SVG by pygal on the server, so
every page works offline and loads no script from anywhere. Login stores the pasted API token
in an HttpOnly, SameSite=Strict cookie (``auth.COOKIE``); every page needs ``read`` and every
action its own permission, exactly as the JSON API checks them (``entrypoints/api/auth.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pygal
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pygal.style import Style

from retailhub.adapters.storage import kpi_queries, queries
from retailhub.adapters.storage.tokens_repo import lookup
from retailhub.bootstrap import Hub
from retailhub.domain.catalog import Item
from retailhub.domain.money import Money, MoneyError, exponent, to_minor
from retailhub.entrypoints.api.auth import (
    COOKIE,
    Forbidden,
    NotAuthenticated,
    Principal,
    authenticate,
)
from retailhub.services import exception_actions, kpis

TEMPLATES = Path(__file__).parent / "templates"
# The overview is at "/" and login at "/login"; the other pages live under /desk so they never
# shadow the JSON API's paths (/exceptions, /items, …) when both are mounted on one app.
PREFIX = "/desk"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["duration"] = kpis.duration
_env.filters["money"] = lambda minor, currency: (
    f"{Decimal(int(minor)).scaleb(-exponent(currency)):,} {currency}"
)

_CHART_STYLE = Style(background="white", plot_background="white", colors=("#1f5fa8",))


MAX_FORM_BYTES = 64 * 1024

Fields = dict[str, str]


async def form_fields(request: Request) -> Fields:
    """The posted form's fields. Parsed here rather than with FastAPI's ``Form``, which needs
    python-multipart (not a dependency); our forms are all ``application/x-www-form-urlencoded``,
    the HTML default (HTML standard, "Form submission algorithm")."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


@dataclass(frozen=True, slots=True)
class _Page:
    """What every page template gets besides its own data."""

    principal: Principal
    path: str

    def may(self, permission: str) -> bool:
        return self.principal.may(permission)


def _render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status)


def line_chart(kpi: kpis.Kpi) -> str:
    """The KPI's daily series as inline SVG. ``js=[]``: pygal would otherwise link its tooltip
    script from a CDN (pygal docs, "Options: js"); the pages must work offline."""
    chart = pygal.Line(
        js=[],
        disable_xml_declaration=True,
        style=_CHART_STYLE,
        width=640,
        height=220,
        show_legend=False,
        x_label_rotation=30,
        show_minor_x_labels=False,
        allow_interruptions=True,
        title=f"{kpi.title} ({kpi.unit}) per day",
    )
    chart.x_labels = [d.isoformat() for d, _ in kpi.series]
    chart.x_labels_major = chart.x_labels[:: max(1, len(chart.x_labels) // 6)]
    chart.add(kpi.title, [v for _, v in kpi.series])
    svg: str = chart.render(is_unicode=True)
    return svg


def dashboard_router(hub: Hub) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(request: Request, permission: str = "read") -> _Page | Response:
        """The caller, or the response that turns them away (login, or a 403 page)."""
        try:
            principal = authenticate(hub, request)
        except NotAuthenticated:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
        if not principal.may(permission):
            return _forbidden(Forbidden(permission, principal.role))
        if request.method == "POST" and not _same_origin(request):
            return _render(
                "error.html", 403, title="Cross-site request refused",
                detail="This form was posted from another site.", page=None,
            )  # fmt: skip
        return _Page(principal, request.url.path)

    def _forbidden(err: Forbidden) -> HTMLResponse:
        return _render(
            "error.html", 403, title="Not allowed",
            detail=f"Your token's role may not {err.permission}. Ask an administrator for a "
            "token with that permission.", page=None,
        )  # fmt: skip

    def act(request: Request, permission: str, action: Callable[[_Page], str]) -> Response:
        who = page(request, permission)
        if isinstance(who, Response):
            return who
        message = action(who)
        back = request.headers.get("referer") or PREFIX + "/exceptions"
        path = urlsplit(back).path or PREFIX + "/exceptions"
        return RedirectResponse(f"{path}?{urlencode({'notice': message})}", status_code=303)

    # -- login -----------------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    def login_form(next: str = "/", error: str = "") -> HTMLResponse:
        return _render("login.html", next=_local(next), error=error, page=None)

    @router.post("/login")
    def login(form: Fields = Depends(form_fields)) -> Response:
        token, next = form.get("token", "").strip(), form.get("next", "/")
        with hub.engine.begin() as conn:
            info = lookup(conn, token, hub.clock()) if token else None
        if info is None:
            return _render(
                "login.html", 401, next=_local(next), page=None,
                error="That token is not valid (unknown or revoked). Paste the whole token, "
                "starting with rh_.",
            )  # fmt: skip
        reply = RedirectResponse(_local(next), status_code=303)
        reply.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return reply

    @router.post("/logout")
    def logout() -> Response:
        reply = RedirectResponse("/login", status_code=303)
        reply.delete_cookie(COOKIE, path="/")
        return reply

    # -- overview and KPIs -----------------------------------------------------------------

    @router.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> Response:
        who = page(request)
        if isinstance(who, Response):
            return who
        now = hub.clock()
        with hub.uow() as uow:
            health = kpi_queries.connector_health(uow.conn, now)
            figures = kpis.compute(kpi_queries.SqlKpiSamples(uow.conn), now)
            by_type = queries.open_exceptions_by_type(uow.conn)
        return _render("overview.html", page=who, health=health, kpis=figures, open=by_type)

    @router.get(PREFIX + "/kpis", response_class=HTMLResponse)
    def kpi_charts(request: Request, days: int = 30) -> Response:
        who = page(request)
        if isinstance(who, Response):
            return who
        days = min(max(days, 2), 366)
        with hub.uow() as uow:
            figures = kpis.compute(kpi_queries.SqlKpiSamples(uow.conn), hub.clock(), days)
        charts = [(k, line_chart(k)) for k in figures]
        return _render("kpis.html", page=who, charts=charts, days=days)

    # -- the exception queue ---------------------------------------------------------------

    @router.get(PREFIX + "/exceptions", response_class=HTMLResponse)
    def exception_queue(
        request: Request, type: str = "", owner: str = "", status: str = "open", notice: str = ""
    ) -> Response:
        who = page(request)
        if isinstance(who, Response):
            return who
        with hub.uow() as uow:
            rows = kpi_queries.exception_rows(
                uow.conn, None if status in ("", "all") else status, type or None, owner or None
            )
            facets = kpi_queries.exception_facets(uow.conn)
        rows = [r for r in rows if who.principal.sees_store(r["store"])]
        chosen = {"type": type, "owner": owner, "status": status}
        return _render(
            "exceptions.html", page=who, rows=rows, facets=facets, chosen=chosen, notice=notice,
            sku_of=_sku_of,
        )  # fmt: skip

    @router.get(PREFIX + "/exceptions/{exception_id}", response_class=HTMLResponse)
    def exception_page(request: Request, exception_id: int, notice: str = "") -> Response:
        who = page(request)
        if isinstance(who, Response):
            return who
        with hub.uow() as uow:
            detail = queries.exception_detail(uow.conn, exception_id)
        if detail is None or not who.principal.sees_store(detail.get("store")):
            return _render(
                "error.html", 404, page=who, title="No such exception",
                detail=f"There is no exception {exception_id} you may see.",
            )  # fmt: skip
        return _render("exception.html", page=who, exc=detail, notice=notice, sku=_sku_of(detail))

    def _visible(who: _Page, exception_id: int) -> bool:
        with hub.uow() as uow:
            detail = queries.exception_detail(uow.conn, exception_id)
        return detail is not None and who.principal.sees_store(detail.get("store"))

    @router.post(PREFIX + "/exceptions/{exception_id}/retry")
    def retry(request: Request, exception_id: int) -> Response:
        def run(who: _Page) -> str:
            if not _visible(who, exception_id):
                return f"exception {exception_id}: not found"
            with hub.uow() as uow:
                outcome = exception_actions.retry(
                    uow, exception_id, hub.sources, hub.clock(), actor=_actor(who)
                )
                uow.commit()
            return f"exception {exception_id}: {outcome.status} ({outcome.detail})"

        return act(request, "exceptions.act", run)

    @router.post(PREFIX + "/exceptions/{exception_id}/ignore")
    def ignore(
        request: Request, exception_id: int, form: Fields = Depends(form_fields)
    ) -> Response:
        reason = form.get("reason", "")

        def run(who: _Page) -> str:
            if not _visible(who, exception_id):
                return f"exception {exception_id}: not found"
            with hub.uow() as uow:
                outcome = exception_actions.ignore(
                    uow, exception_id, reason, hub.clock(), actor=_actor(who)
                )
                uow.commit()
            return f"exception {exception_id}: {outcome.status} ({outcome.detail})"

        return act(request, "exceptions.act", run)

    def _one(outcomes: list[exception_actions.ActionOutcome]) -> str:
        return "; ".join(f"exception {o.exception_id}: {o.status} ({o.detail})" for o in outcomes)

    def _action(
        request: Request,
        exception_id: int,
        permission: str,
        run: Callable[[Any, str], list[exception_actions.ActionOutcome]],
    ) -> Response:
        """Run one queue action in its own transaction, if the caller may see the exception."""

        def go(who: _Page) -> str:
            if not _visible(who, exception_id):
                return f"exception {exception_id}: not found"
            with hub.uow() as uow:
                outcomes = run(uow, _actor(who))
                uow.commit()
            return _one(outcomes)

        return act(request, permission, go)

    @router.post(PREFIX + "/exceptions/{exception_id}/assign")
    def assign(
        request: Request, exception_id: int, form: Fields = Depends(form_fields)
    ) -> Response:
        name = form.get("assignee", "")
        return _action(
            request, exception_id, "exceptions.act",
            lambda uow, actor: [
                exception_actions.assign(uow, exception_id, name, hub.clock(), actor=actor)
            ],
        )  # fmt: skip

    @router.post(PREFIX + "/exceptions/{exception_id}/replay")
    def replay(request: Request, exception_id: int) -> Response:
        return _action(
            request, exception_id, "exceptions.act",
            lambda uow, actor: exception_actions.replay(
                uow, hub.clock(), exception_id=exception_id, actor=actor
            ),
        )  # fmt: skip

    @router.post(PREFIX + "/exceptions/{exception_id}/map-alias")
    def map_alias(
        request: Request, exception_id: int, form: Fields = Depends(form_fields)
    ) -> Response:
        sku = form.get("sku", "").strip()
        return _action(
            request, exception_id, "exceptions.act",
            lambda uow, actor: exception_actions.map_alias(
                uow, exception_id, sku, hub.clock(), actor=actor
            ),
        )  # fmt: skip

    @router.post(PREFIX + "/exceptions/{exception_id}/write-off")
    def write_off(
        request: Request, exception_id: int, form: Fields = Depends(form_fields)
    ) -> Response:
        reason = form.get("reason", "")
        return _action(
            request, exception_id, "finance.act",
            lambda uow, actor: [
                exception_actions.write_off(
                    uow, exception_id, reason, hub.clock(), hub.settings.currency, actor=actor
                )
            ],
        )  # fmt: skip

    # -- master data: the missing SKU ------------------------------------------------------

    @router.get(PREFIX + "/items/new", response_class=HTMLResponse)
    def item_form(request: Request, sku: str = "") -> Response:
        who = page(request)
        if isinstance(who, Response):
            return who
        return _render(
            "item_form.html", page=who, values={"sku": sku, "title": "", "unit_cost": ""},
            errors={}, currency=hub.settings.currency, saved=None,
        )  # fmt: skip

    @router.post(PREFIX + "/items", response_class=HTMLResponse)
    def create_item(request: Request, form: Fields = Depends(form_fields)) -> Response:
        sku, title = form.get("sku", ""), form.get("title", "")
        unit_cost, tax_class = form.get("unit_cost", ""), form.get("tax_class", "standard")
        who = page(request, "stock.act")
        if isinstance(who, Response):
            return who
        currency = hub.settings.currency
        values = {"sku": sku.strip(), "title": title.strip(), "unit_cost": unit_cost.strip()}
        errors = _item_errors(values, currency)
        if not errors:
            with hub.uow() as uow:
                if uow.catalog.item(values["sku"]) is not None:
                    errors["sku"] = f"SKU {values['sku']} already exists in the item master."
        if errors:
            return _render(
                "item_form.html", 422, page=who, values=values, errors=errors,
                currency=currency, saved=None,
            )  # fmt: skip
        item = Item(
            values["sku"],
            values["title"],
            Money(to_minor(values["unit_cost"], currency), currency),
            tax_class=tax_class.strip() or "standard",
        )
        with hub.uow() as uow:
            uow.catalog.save_items([(item, {})], "dashboard")
            uow.commit()
        return _render(
            "item_form.html", 201, page=who, values={"sku": "", "title": "", "unit_cost": ""},
            errors={}, currency=currency, saved=item,
        )  # fmt: skip

    # -- ATP and reconciliation ------------------------------------------------------------

    @router.get(PREFIX + "/atp", response_class=HTMLResponse)
    def atp_lookup(request: Request, sku: str = "") -> Response:
        who = page(request)
        if isinstance(who, Response):
            return who
        sku = sku.strip()
        found: dict[str, Any] | None = None
        if sku:
            rules = hub.settings.rules()
            with hub.uow() as uow:
                held = queries.positions(uow.conn, sku)
                atp = (
                    queries.atp(
                        uow.conn, sku, rules.availability, rules.safety,
                        rules.sales_window_days, hub.clock(),
                    )
                    if held
                    else {}
                )  # fmt: skip
            found = {"positions": held, "atp": atp}
        return _render("atp.html", page=who, sku=sku, found=found)

    @router.get(PREFIX + "/reconciliation", response_class=HTMLResponse)
    def reconciliation(request: Request) -> Response:
        who = page(request)
        if isinstance(who, Response):
            return who
        with hub.uow() as uow:
            run = kpi_queries.latest_reconciliation(uow.conn)
        return _render("reconciliation.html", page=who, run=run)

    return router


def _actor(who: _Page) -> str:
    return f"dashboard:{who.principal.token.name}"


def _local(target: str) -> str:
    """Only redirect within this site after login (no open redirect to another host)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _same_origin(request: Request) -> bool:
    """Browsers send Origin on form posts; refuse one from another site (with the
    SameSite=Strict cookie this stops cross-site form posts)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _sku_of(exc: dict[str, Any]) -> str | None:
    """The SKU an unknown-SKU exception names (its subject is ``sku:<SKU>``)."""
    subject = exc.get("subject") or ""
    if exc.get("type") == "unknown_sku" and subject.startswith("sku:"):
        return str(subject[4:])
    return None


def _item_errors(values: dict[str, str], currency: str) -> dict[str, str]:
    errors = {}
    if not values["sku"]:
        errors["sku"] = "SKU is required."
    elif len(values["sku"]) > 80:
        errors["sku"] = "SKU is longer than 80 characters."
    if not values["title"]:
        errors["title"] = "Title is required."
    try:
        cost = Decimal(values["unit_cost"])
        if cost < 0:
            errors["unit_cost"] = "Unit cost cannot be negative."
        else:
            to_minor(cost, currency)
    except InvalidOperation:
        errors["unit_cost"] = f"Unit cost {values['unit_cost']!r} is not a number (e.g. 12.50)."
    except MoneyError as err:
        errors["unit_cost"] = f"Unit cost: {err}"
    return errors


__all__ = ["dashboard_router", "line_chart"]
