from mfapp.production import apis

routes = [
    ("batches", apis.BatchViewSet, "batch"),
    ("operations", apis.OperationViewSet, "operation"),
    ("quality-checks", apis.QualityCheckViewSet, "quality-check"),
    ("material-consumptions", apis.MaterialConsumptionViewSet, "material-consumption"),
]
