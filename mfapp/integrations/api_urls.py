from mfapp.integrations import apis

routes = [
    ("webhook-endpoints", apis.WebhookEndpointViewSet, "webhook-endpoint"),
    ("webhook-deliveries", apis.WebhookDeliveryViewSet, "webhook-delivery"),
]
