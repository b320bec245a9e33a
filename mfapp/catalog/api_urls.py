from mfapp.catalog import apis

routes = [
    ("materials", apis.MaterialViewSet, "material"),
    ("products", apis.ProductViewSet, "product"),
    ("routing-steps", apis.RoutingStepViewSet, "routing-step"),
    ("bom-lines", apis.BomLineViewSet, "bom-line"),
]
