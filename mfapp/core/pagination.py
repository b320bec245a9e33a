"""Page-number pagination for every list of the API: `page` and `page_size`, at most 500 rows
a page, whatever the caller asks for."""

from typing import Any

from rest_framework.pagination import PageNumberPagination

MAX_PAGE_SIZE = 500


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def page_fields(self) -> dict[str, Any]:
        """`count`, `next` and `previous` of the page `paginate_queryset` just took, for an
        answer that holds its list beside other fields (a schedule run's plan)."""
        return {
            "count": self.page.paginator.count,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
        }
