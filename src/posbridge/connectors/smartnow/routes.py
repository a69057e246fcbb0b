"""Every SmartNow operation's method and path, in one table shared by sandbox and connector.

The vendor document is a Redoc export that lost its HTTP methods and paths. Two paths are
RECOVERED (`POST /auth/login`, `GET /user/me`), two leak from the SEED text
(`GET /transactionprofile/paymenttypes`, `/voucher/{code}/validate`); the rest are
INFERRED in vendor-notes §1.3 (Sails blueprint style: lowercase singular model
identities, `GET /<model>/{parentid}/{alias}` populates). `BLUEPRINT` rows are not in
the document at all but follow from the same blueprint convention (list/read of a model
the document only creates): the connector needs them to list shifts. Correct a path here
and both halves follow; `docs/connectors.md` lists this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

__all__ = ["BY_NAME", "ROUTES", "Route", "path"]

Status = Literal["RECOVERED", "SEED", "INFERRED", "BLUEPRINT"]


@dataclass(frozen=True, slots=True)
class Route:
    """One operation: a stable name (`model.action`), method, path template, provenance.

    `lists` marks the operations the document gives the list conventions (limit, skip,
    where, sort, useArchive where `archive`).
    """

    name: str
    method: str
    path: str
    status: Status = "INFERRED"
    lists: bool = False
    archive: bool = False
    auth: bool = True


def _crud(
    model: str, *, read: bool = True, lst: bool = False, populate: bool = False, verb: str = "PATCH"
) -> list[Route]:
    rows = [
        Route(f"{model}.create", "POST", f"/{model}"),
        Route(f"{model}.update", verb, f"/{model}/{{id}}"),
    ]
    if read:
        rows.append(Route(f"{model}.get", "GET", f"/{model}/{{id}}"))
    if lst:
        rows.append(Route(f"{model}.list", "GET", f"/{model}"))
    if populate:
        rows.append(Route(f"{model}.populate", "GET", f"/{model}/{{parentid}}/{{alias}}"))
    return rows


ROUTES: tuple[Route, ...] = (
    Route("auth.login", "POST", "/auth/login", "RECOVERED", auth=False),
    Route("auth.refresh", "POST", "/auth/refresh", auth=False),
    Route("auth.password", "POST", "/auth/password", auth=False),
    Route("auth.reset", "POST", "/auth/reset-password", auth=False),
    Route("auth.confirm", "POST", "/auth/confirm", auth=False),
    Route("user.me", "GET", "/user/me", "RECOVERED"),
    *_crud("user"),
    Route("usergroup.create", "POST", "/usergroup"),
    Route("usergroup.update", "PATCH", "/usergroup/{id}"),
    Route("usergroup.children", "GET", "/usergroup/{parentid}/children"),
    Route("usergroup.populate", "GET", "/usergroup/{parentid}/{alias}"),
    Route("machine.config", "PUT", "/machine/{hostname}/config"),
    Route("machine.configuration", "POST", "/machine/configuration"),
    Route("machine.by_location", "GET", "/machine/location"),
    Route("machine.list", "GET", "/machine"),
    Route("alertobserver.by_status", "GET", "/alertobserver/status/{status}"),
    Route("machine.by_status", "GET", "/machine/status/{status}"),
    Route("machine.alertobservers", "GET", "/machine/{id}/alertObservers"),
    *_crud("machine", populate=True),
    Route("machine.command", "POST", "/machine/{hostname}/command/{command}"),
    Route("command.bulk", "POST", "/command/{command}"),
    *_crud("machinemodel", populate=True),
    *_crud("machinetype", read=False),
    *_crud("manufacturer", read=False),
    *_crud("machinegroup", read=False),
    Route("machineconfig.by_hostname", "GET", "/machineconfig/{hostname}"),
    Route("machineconfig.find", "GET", "/machineconfig"),
    Route("machineconfig.update", "PUT", "/machineconfig/{machine}"),
    Route("machineconfigtemplate.get", "GET", "/machineconfigtemplate/{id}"),
    *_crud("location", lst=True),
    *_crud("locationgroup", read=False),
    Route("shift.close", "POST", "/shift"),
    Route("shift.list", "GET", "/shift", "BLUEPRINT", lists=True),
    Route("shift.get", "GET", "/shift/{id}", "BLUEPRINT"),
    Route("openinghours.set", "PUT", "/openinghours/{resource}/{id}"),
    Route("revenuetransaction.summary", "GET", "/revenuetransaction/summary"),
    Route("revenuetransaction.bestselling", "GET", "/revenuetransaction/bestselling"),
    Route("revenuetransaction.overview", "GET", "/revenuetransaction/overview"),
    Route("revenuetransaction.heatmap", "GET", "/revenuetransaction/heatmap"),
    Route("revenuetransaction.list", "GET", "/revenuetransaction", lists=True, archive=True),
    Route("revenuetransaction.get", "GET", "/revenuetransaction/{id}"),
    Route("revenuetransaction.populate", "GET", "/revenuetransaction/{parentid}/{alias}"),
    Route("paymenttransaction.list", "GET", "/paymenttransaction", lists=True, archive=True),
    Route("paymenttransaction.get", "GET", "/paymenttransaction/{id}"),
    Route("log.active", "GET", "/log/active"),
    Route("log.summary", "GET", "/log/summary"),
    Route("log.list", "GET", "/log", lists=True, archive=True),
    Route("log.get", "GET", "/log/{id}"),
    Route("report.issues", "POST", "/report/issues"),
    Route("report.alarms", "POST", "/report/alarms"),
    Route("report.products", "POST", "/report/products"),
    Route("report.paymenttypes", "POST", "/report/paymenttypes"),
    Route("report.revenue", "POST", "/report/revenue"),
    Route("report.shifts", "POST", "/report/shifts"),
    Route("report.export", "GET", "/report/export", "SEED"),
    Route("report.create", "POST", "/report"),
    Route("report.update", "PATCH", "/report/{id}"),
    Route("report.populate", "GET", "/report/{parentid}/{alias}"),
    Route("report.add", "PUT", "/report/{parentid}/{alias}/{id}"),
    Route("report.remove", "DELETE", "/report/{parentid}/{alias}/{id}"),
    Route("userreport.update", "PATCH", "/userreport/{id}"),
    Route("userreport.add_chart", "POST", "/userreport/{id}/chart"),
    Route("userreport.charts", "GET", "/userreport/{id}/chart"),
    Route("userreport.duplicate", "POST", "/userreport/{id}/duplicate"),
    Route("chart.get", "GET", "/chart/{id}"),
    Route("chart.update", "PUT", "/chart/{id}"),
    Route("chart.field", "GET", "/chart/{id}/{field}"),
    Route("charttemplate.list", "GET", "/charttemplate"),
    Route("charttemplate.get", "GET", "/charttemplate/{id}"),
    *_crud("alertobserver", lst=True),
    Route("alertgroup.update", "PATCH", "/alertgroup/{id}"),
    *_crud("alertrecipient"),
    Route("productflavour.create", "POST", "/machine/{machine}/productflavour"),
    Route("productflavour.list", "GET", "/machine/{machine}/productflavour"),
    Route("productflavour.update", "PATCH", "/machine/{machine}/productflavour/{id}"),
    Route("productextra.create", "POST", "/machine/{machine}/productextra"),
    Route("productextra.list", "GET", "/machine/{machine}/productextra"),
    Route("productextra.update", "PATCH", "/machine/{machine}/productextra/{id}"),
    Route("product.create", "POST", "/machine/{machine}/product"),
    Route("product.list", "GET", "/machine/{machine}/product"),
    Route("product.update", "PATCH", "/machine/{machine}/product/{id}"),
    Route("assortment.preview", "POST", "/machine/{machine}/assortment/convert/preview"),
    Route("assortment.convert", "POST", "/machine/{machine}/assortment/convert"),
    Route("assortment.override", "PUT", "/machine/{machine}/assortment"),
    Route("assortment.copy", "POST", "/machine/{machine}/assortment/copy/{machineGroup}"),
    *_crud("errorprofile", read=False),
    *_crud("erroridentity", read=False),
    *_crud("errorcode", read=False),
    Route("transactionprofile.paymenttypes", "GET", "/transactionprofile/paymenttypes", "SEED"),
    *_crud("transactionprofile", read=False, verb="PUT"),
    Route("widget.create", "POST", "/dashboard/{dashboard}/widget"),
    Route("widget.settings", "PUT", "/widget/{id}/settings"),
    Route("widget.update", "PATCH", "/widget/{id}"),
    Route("voucher.export", "GET", "/voucher/export"),
    Route("export.resource", "GET", "/export/{resource}"),
    *_crud("image", read=False),
    *_crud("language", read=False),
    *_crud("translation", read=False),
    *_crud("campaign"),
    Route("campaign.list", "GET", "/campaign", lists=True),
    Route("campaign.validationrule", "PUT", "/campaign/{id}/validationrule"),
    Route("campaign.vouchers", "GET", "/campaign/{id}/voucher"),
    Route("integration.list", "GET", "/integration"),
    Route("integration.create", "POST", "/integration"),
    Route("integration.get", "GET", "/integration/{id}"),
    Route("integration.update", "PATCH", "/integration/{id}"),
    Route("integration.status", "GET", "/integration/{id}/status"),
    Route("integration.transactions", "GET", "/integration/{id}/transaction", lists=True),
    Route("voucher.validate", "POST", "/voucher/{code}/validate", "SEED"),
    Route("voucher.redeem", "POST", "/voucher/{code}/redeem"),
    Route("voucher.create", "POST", "/voucher"),
    Route("voucher.list", "GET", "/voucher", lists=True),
    Route("voucher.patch", "PATCH", "/voucher/{id}"),
    Route("voucher.replace", "PUT", "/voucher/{id}"),
    Route("voucher.get", "GET", "/voucher/{id}"),
    Route("voucher.log", "GET", "/voucher/{id}/log"),
)

BY_NAME: dict[str, Route] = {r.name: r for r in ROUTES}
assert len(BY_NAME) == len(ROUTES), "route names must be unique"


def path(name: str, **params: object) -> str:
    """The path of operation `name` with its `{params}` filled in (URL-quoted)."""
    template = BY_NAME[name].path
    for key, value in params.items():
        template = template.replace("{" + key + "}", quote(str(value), safe=""))
    if "{" in template:
        raise KeyError(f"{name}: missing path parameters in {template}")
    return template
