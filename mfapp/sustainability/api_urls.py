from mfapp.sustainability import apis

routes = [
    ("sustainability-reports", apis.SustainabilityReportViewSet, "sustainability-report"),
]
