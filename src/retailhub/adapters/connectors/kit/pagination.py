"""Paginators: each says where a page's items live and how to ask for the next page.

``ApiClient.paginate`` owns the loop; a connector only declares which paginator its endpoint
uses, e.g. ``StartingAfter()`` for Stripe lists or ``NextLink()`` for Business Central.
``items_field`` is a dotted path into the body (``"data.orders.nodes"``); a missing field means an
empty page, because Square omits empty arrays instead of sending ``[]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import httpx

Params = Mapping[str, Any]


@dataclass(frozen=True)
class PageRequest:
    """One page's request: ``url`` is a path under the base URL or an absolute next-page URL."""

    url: str
    params: Params = field(default_factory=dict)
    json: Any = None


class Paginator(Protocol):
    def first(self, page: PageRequest) -> PageRequest: ...

    def items(self, payload: Any) -> list[dict[str, Any]]: ...

    def next_page(
        self, page: PageRequest, response: httpx.Response, payload: Any
    ) -> PageRequest | None: ...


def dig_items(payload: Any, path: str) -> list[dict[str, Any]]:
    """The list at dotted ``path`` in ``payload`` (the payload itself for ``""``), else ``[]``."""
    node = payload
    for key in filter(None, path.split(".")):
        node = node.get(key) if isinstance(node, dict) else None
    return [item for item in node if isinstance(item, dict)] if isinstance(node, list) else []


@dataclass(frozen=True, kw_only=True)
class _Base:
    items_field: str

    def first(self, page: PageRequest) -> PageRequest:
        return page

    def items(self, payload: Any) -> list[dict[str, Any]]:
        return dig_items(payload, self.items_field)


@dataclass(frozen=True, kw_only=True)
class CursorInBody(_Base):
    """Square: the body carries ``cursor`` until the last page; send it back as ``param``.

    List endpoints (GET) take it as a query parameter; search endpoints (POST) take it in the
    JSON body of the same request (developer.squareup.com, pagination), hence ``send_in``.
    """

    cursor_field: str = "cursor"
    param: str = "cursor"
    send_in: Literal["query", "body"] = "query"

    def next_page(
        self, page: PageRequest, response: httpx.Response, payload: Any
    ) -> PageRequest | None:
        cursor = payload.get(self.cursor_field) if isinstance(payload, dict) else None
        if not cursor:
            return None
        if self.send_in == "body":
            return replace(page, json={**(page.json or {}), self.param: cursor})
        return replace(page, params={**page.params, self.param: cursor})


@dataclass(frozen=True, kw_only=True)
class LinkHeader(_Base):
    """Shopify REST: ``Link: <…page_info=…>; rel="next"``; the URL already carries ``limit``."""

    rel: str = "next"

    def next_page(
        self, page: PageRequest, response: httpx.Response, payload: Any
    ) -> PageRequest | None:
        url = response.links.get(self.rel, {}).get("url")
        # Shopify rejects other filters alongside page_info, so the next URL is sent as is.
        return PageRequest(url=url, json=page.json) if url else None


@dataclass(frozen=True, kw_only=True)
class StartingAfter(_Base):
    """Stripe lists: ``{"data": [...], "has_more": true}``; the next page starts after the last id."""

    items_field: str = "data"
    has_more_field: str = "has_more"
    param: str = "starting_after"
    id_field: str = "id"

    def next_page(
        self, page: PageRequest, response: httpx.Response, payload: Any
    ) -> PageRequest | None:
        items = self.items(payload)
        if not (isinstance(payload, dict) and payload.get(self.has_more_field) and items):
            return None
        return replace(page, params={**page.params, self.param: items[-1][self.id_field]})


@dataclass(frozen=True, kw_only=True)
class OffsetLimit(_Base):
    """NetSuite REST lists: ``{"items", "hasMore", "offset", "count"}`` with ``limit`` ≤ 1000."""

    items_field: str = "items"
    limit: int = 1000
    has_more_field: str = "hasMore"
    limit_param: str = "limit"
    offset_param: str = "offset"

    def first(self, page: PageRequest) -> PageRequest:
        params = {self.limit_param: self.limit, self.offset_param: 0, **page.params}
        return replace(page, params=params)

    def next_page(
        self, page: PageRequest, response: httpx.Response, payload: Any
    ) -> PageRequest | None:
        items = self.items(payload)
        if not (isinstance(payload, dict) and payload.get(self.has_more_field) and items):
            return None
        offset = int(page.params.get(self.offset_param, 0)) + len(items)
        return replace(page, params={**page.params, self.offset_param: offset})


@dataclass(frozen=True, kw_only=True)
class NextLink(_Base):
    """OData v4 (Business Central): ``{"value": [...], "@odata.nextLink": "https://…"}``."""

    items_field: str = "value"
    field: str = "@odata.nextLink"

    def next_page(
        self, page: PageRequest, response: httpx.Response, payload: Any
    ) -> PageRequest | None:
        url = payload.get(self.field) if isinstance(payload, dict) else None
        return PageRequest(url=str(url)) if url else None
