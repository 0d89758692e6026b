"""`/v1/webhooks`: producers' endpoints for signed event deliveries, and their delivery logs."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import DeliveriesDep, ProducerDep, ProducerFirstRoute, SettingsDep, WebhooksDep
from api.responses import PRODUCER, errors
from api.schemas import DeliveryList, DeliveryPublic, WebhookCreate, WebhookList, WebhookPublic
from ingest.webhooks.destinations import check_destination
from ingest.webhooks.models import Webhook

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=ProducerFirstRoute,
                   responses=errors(*PRODUCER, 503))


@router.post("", status_code=201, response_model=WebhookPublic, responses=errors(400))
def create_webhook(body: WebhookCreate, _: ProducerDep, settings: SettingsDep,
                   webhooks: WebhooksDep) -> WebhookPublic:
    """Register an endpoint; the answer carries its signing secret."""
    check_destination(body.url, settings.webhook_allow_private)
    webhook = webhooks.create(Webhook(url=body.url, events=body.event_filter()))
    return WebhookPublic.of(webhook, with_secret=True)


@router.get("", response_model=WebhookList)
def list_webhooks(_: ProducerDep, webhooks: WebhooksDep) -> WebhookList:
    """Every webhook, oldest first (secrets left out)."""
    return WebhookList(items=[WebhookPublic.of(w, with_secret=False) for w in webhooks.list()])


@router.get("/{webhook_id}", response_model=WebhookPublic, responses=errors(404))
def get_webhook(webhook_id: str, _: ProducerDep, webhooks: WebhooksDep) -> WebhookPublic:
    """One webhook with its signing secret."""
    return WebhookPublic.of(webhooks.get(webhook_id), with_secret=True)


@router.delete("/{webhook_id}", status_code=204, responses=errors(404))
def delete_webhook(webhook_id: str, _: ProducerDep, webhooks: WebhooksDep,
                   deliveries: DeliveriesDep) -> Response:
    """Stop delivering to the endpoint; its delivery log and pending deliveries are dropped."""
    webhooks.delete(webhook_id)
    deliveries.forget(webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList,
            responses=errors(404))
def list_deliveries(webhook_id: str, _: ProducerDep, webhooks: WebhooksDep,
                    deliveries: DeliveriesDep) -> DeliveryList:
    """The webhook's last deliveries, newest first, with every attempt."""
    webhooks.get(webhook_id)
    return DeliveryList(items=[DeliveryPublic.of(d) for d in deliveries.recent(webhook_id)])
