from mfapp.orders import apis

routes = [
    ("customers", apis.CustomerViewSet, "customer"),
    ("orders", apis.OrderViewSet, "order"),
]
