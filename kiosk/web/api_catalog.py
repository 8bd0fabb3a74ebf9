"""Service guide routes (办事指南): public, for the kiosk; read-only views of the current catalog.

Each request reads `services().catalog.current` once, so a catalog swapped in
by the county sync mid-request never mixes two versions in one answer.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from hall.queue.clock import iso
from hall.records.catalog import Catalog, item_guide, item_summary
from hall.records.catalog_forms import render_form
from hall.records.util import Actor, audit
from hall.web.auth import current_session, require_role
from hall.web.errors import ApiError, error_response
from hall.web.util import int_arg, services

log = logging.getLogger(__name__)

bp = Blueprint("catalog", __name__)

MAX_QUERY = 40
MAX_LIMIT = 200


def _catalog() -> Catalog:
    return services().catalog.current


@bp.get("/api/catalog")
def catalog_overview() -> Response:
    cat = _catalog()
    counts = cat.category_counts()
    categories = [{"prefix": c.prefix, "name": c.name, "count": counts.get(c.prefix, 0)}
                  for c in services().config.categories]
    return jsonify({
        "version": cat.version, "published_at": cat.published_at.isoformat(), "source": cat.source,
        "issuer": cat.doc.issuer, "notice": cat.doc.notice, "item_count": len(cat),
        "categories": categories,
        "departments": [{"name": d, "count": n} for d, n in cat.departments().items()],
    })


@bp.get("/api/catalog/status")
@require_role("technician", "manager")
def catalog_status() -> Response:
    return jsonify(services().catalog.status())


@bp.post("/api/catalog/import")
@require_role("technician")
def catalog_import() -> tuple[Response, int]:
    """A catalog file brought by hand (the county link may be down for days): validated, then swapped in."""
    raw: Any = request.get_json(silent=True) if request.is_json else None
    if not isinstance(raw, dict):
        raise ApiError("bad_json", "请上传县级平台导出的事项目录 JSON 文件", 400 if request.is_json else 415)
    svc = services()
    result = svc.catalog.apply(raw)
    s = current_session()
    try:
        with svc.db.write() as c:
            audit(c, iso(svc.clock.now()), Actor(s.staff_id if s else "?", "technician", request.remote_addr or ""),
                  "catalog.import", result.version or "?", f"{result.status} {result.message}")
    except Exception:           # the import itself is done; a failed audit row must not hide its result
        log.exception("could not audit the catalog import")
    if result.status == "rejected":
        return error_response("catalog_rejected", result.message, 422, errors=list(result.errors))
    if result.status == "failed":
        return error_response("catalog_not_saved", result.message, 500, errors=list(result.errors))
    return jsonify(result.as_dict()), 200


@bp.get("/api/catalog/items")
def catalog_items() -> Response:
    q = request.args.get("q", "").strip()
    category = request.args.get("category", "").strip().upper()
    department = request.args.get("department", "").strip()
    if len(q) > MAX_QUERY:
        raise ApiError("invalid", f"搜索内容不能超过 {MAX_QUERY} 个字", 400)
    limit = int_arg("limit", lo=1, hi=MAX_LIMIT) or MAX_LIMIT   # a size beyond the page is refused, not clamped
    cat = _catalog()
    found = cat.search(q, category=category, department=department)
    return jsonify({"version": cat.version, "total": len(found),
                    "items": [item_summary(i) for i in found[:limit]]})


@bp.get("/api/catalog/items/<impl_code>")
def catalog_item(impl_code: str) -> Response:
    item = _catalog().get(impl_code)
    if item is None:
        raise ApiError("not_found", "未找到该事项，目录可能已更新，请返回重新选择", 404)
    return jsonify(item_guide(item, lambda n: url_for("catalog.catalog_form", impl_code=impl_code, n=n)))


@bp.get("/api/catalog/items/<impl_code>/forms/<int:n>")
def catalog_form(impl_code: str, n: int) -> Response:
    item = _catalog().get(impl_code)
    if item is None:
        raise ApiError("not_found", "未找到该事项，目录可能已更新，请返回重新选择", 404)
    if n < 1 or n > len(item.forms):
        raise ApiError("not_found", "该事项没有这份空白表格", 404)
    html = render_form(item, n, hall_name=services().config.hall.name)
    resp = Response(html, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-cache"
    return resp
