"""The sample flow of ``recorder demo``: an order fulfilment with a parallel section,
a flaky carrier API behind a retry, and a courier booking that fails and reverts it all.

Sleeps stand in for real work so the timeline has something to show;
``speed`` scales them (the tests run the demo 20 times faster). :func:`build`
makes the flow (the tests record it too), :func:`run` records one run of it.
"""

from __future__ import annotations

import time
from typing import Any

import recorder
from recorder import engines, retry, task
from recorder.flow import Flow
from recorder.patterns import linear_flow, unordered_flow

FLOW_NAME = "order-fulfilment"
STORE = {"order_id": "A-1042", "items": 3, "card": "tok_visa_4242"}


class CourierUnavailable(Exception):
    """The courier's booking API refused the request."""


class CarrierTimeout(Exception):
    """The carrier's quote API did not answer in time."""


class _Work(task.Task):
    def __init__(self, name: str, seconds: float, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.seconds = seconds

    def work(self, factor: float = 1.0) -> None:
        time.sleep(self.seconds * factor)


class ValidateOrder(_Work):
    def execute(self, order_id: str, items: int) -> dict[str, Any]:
        self.work()
        return {"order_id": order_id, "items": items}


class ReserveStock(_Work):
    def execute(self, order: dict[str, Any]) -> str:
        self.work()
        return "reservation-%s" % order["order_id"]

    def revert(self, order: dict[str, Any], **kwargs: Any) -> None:
        self.work(0.3)  # release the reservation


class ChargeCard(_Work):
    def execute(self, order: dict[str, Any], card: str) -> str:
        self.work()
        return "payment-%s" % order["order_id"]

    def revert(self, order: dict[str, Any], card: str, **kwargs: Any) -> None:
        self.work(0.5)  # refund


class FetchShippingQuote(_Work):
    """Times out on its first two calls, like a carrier API under load."""

    def __init__(self, name: str, seconds: float, failures: int = 2) -> None:
        super().__init__(name, seconds, provides="quote")
        self.failures = failures
        self.calls = 0

    def execute(self, order: dict[str, Any]) -> float:
        self.calls += 1
        self.work()
        if self.calls <= self.failures:
            raise CarrierTimeout("carrier quote API timed out (call %d)" % self.calls)
        return 7.5


class PackParcel(_Work):
    def execute(self, reservation: str) -> str:
        self.work()
        return "parcel-for-%s" % reservation

    def revert(self, reservation: str, **kwargs: Any) -> None:
        self.work(0.3)  # unpack


class BookCourier(_Work):
    def __init__(self, name: str, seconds: float, fails: bool = True) -> None:
        super().__init__(name, seconds)
        self.fails = fails

    def execute(self, parcel: str, quote: float) -> str:
        self.work()
        if self.fails:
            try:
                raise ConnectionError("POST /bookings on the courier API: 503")
            except ConnectionError as exc:
                raise CourierUnavailable(
                    "courier booking API returned 503 Service Unavailable"
                ) from exc
        return "booking-for-%s" % parcel


def build(speed: float = 1.0, courier_fails: bool = True) -> Flow:
    """The sample flow; ``speed`` > 1 makes every step that many times faster.
    With ``courier_fails=False`` the booking works and the flow succeeds."""

    def s(seconds: float) -> float:
        return seconds / speed

    quote = linear_flow.Flow("quote", retry=retry.Times(4, name="quote-retry")).add(
        FetchShippingQuote("fetch-shipping-quote", s(0.2))
    )
    prepare = unordered_flow.Flow("prepare").add(
        ReserveStock("reserve-stock", s(0.3), provides="reservation"),
        ChargeCard("charge-card", s(0.45), provides="payment"),
        quote,
    )
    return linear_flow.Flow(FLOW_NAME).add(
        ValidateOrder("validate-order", s(0.05), provides="order"),
        prepare,
        PackParcel("pack-parcel", s(0.2), provides="parcel"),
        BookCourier("book-courier", s(0.1), fails=courier_fails),
    )


def run(url: str, speed: float = 1.0) -> tuple[str, BaseException | None]:
    """Run the sample flow on the parallel engine, recorded into the database at ``url``
    with the standard recording set; return its flow uuid and what it raised (the
    planned failure: the courier booking fails and everything is reverted)."""
    engine = engines.load(build(speed), store=STORE, engine="parallel", backend=url)
    raised: BaseException | None = None
    try:
        with recorder.record(engine):
            try:
                engine.run()
            except Exception as exc:  # the demo's planned failure
                raised = exc
    finally:
        engine.close()
    return engine.storage.flow_uuid, raised
