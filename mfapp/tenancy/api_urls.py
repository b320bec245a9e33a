from mfapp.tenancy import apis

routes = [
    ("sites", apis.SiteViewSet, "site"),
]
