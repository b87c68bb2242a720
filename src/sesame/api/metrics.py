"""BatchGetMetricData: VDM metrics answered from the recorded events.

The counting is events/metrics.py's. Limits, from the model and the API
reference: 1 to 10 queries a call (the model's list bounds, checked before this
runs); Namespace `VDM`; 1 to 3 dimensions; `StartDate` before `EndDate`.
The documented call rates (16 calls a second, 160 queries a second) apply when
`--api-rate BatchGetMetricData=16/s` asks for throttling. Tenants do not exist
here, so a TENANT_NAME dimension matches nothing: the query is answered in
`Errors` with ACCESS_DENIED, as the model provides for a query one may not run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sesame.api.context import RequestContext
from sesame.api.dispatch import handles
from sesame.events.metrics import SOURCES, Query, count
from sesame.protocol.errors import BadRequestException
from sesame.store.base import Store


def _seconds(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


class MetricsProvider:
    def __init__(self, store: Store) -> None:
        self.store = store

    @handles("BatchGetMetricData")
    def batch_get_metric_data(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        queries = request["Queries"]
        ids = [query["Id"] for query in queries]
        if len(set(ids)) != len(ids):
            raise BadRequestException("Query identifiers must be unique.")
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for given in queries:
            start, end = _seconds(given["StartDate"]), _seconds(given["EndDate"])
            if start >= end:
                raise BadRequestException("StartDate must be before EndDate.")
            dimensions = given.get("Dimensions", {})
            if "TENANT_NAME" in dimensions:
                errors.append(
                    {
                        "Id": given["Id"],
                        "Code": "ACCESS_DENIED",
                        "Message": f"Tenant {dimensions['TENANT_NAME']} does not exist.",
                    }
                )
                continue
            query = Query(given["Metric"], dimensions, start, end)
            events = self.store.events_between(start, end, list(SOURCES[query.metric]))
            stamps, values = count(query, events, self.store.tracking_of)
            results.append(
                {"Id": given["Id"], "Timestamps": [float(s) for s in stamps], "Values": values}
            )
        return {"Results": results, "Errors": errors}
