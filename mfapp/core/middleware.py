"""One database transaction per read request on PostgreSQL.

Row-level security settings live in a transaction (mfapp.core.rls); outside one, each
statement gets a transaction of its own, which costs BEGIN, the settings and COMMIT around
every query: three extra round trips each. A page or API read then makes a dozen round trips
where six would do. GET and HEAD change nothing worth keeping apart (a key's last-use time, at
most), so they run in one transaction: the settings are written once, then again only when the
request's context changes (a key naming its tenant).
"""

from collections.abc import Callable

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse

READS = ("GET", "HEAD")


class ReadTransactionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Already in a transaction (a test's): it is the request's.
        if request.method not in READS or connection.vendor != "postgresql":
            return self.get_response(request)
        if connection.in_atomic_block:
            return self.get_response(request)
        with transaction.atomic():
            return self.get_response(request)
