from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from mfapp.tenancy.middleware import SESSION_KEY


@login_required
@require_POST
def tenant_switch_view(request: HttpRequest) -> HttpResponse:
    try:
        wanted = int(request.POST.get("tenant_id", ""))
    except ValueError:
        wanted = None
    if any(m.tenant_id == wanted for m in request.memberships):  # type: ignore[attr-defined]
        request.session[SESSION_KEY] = wanted
    return HttpResponseRedirect(reverse("home"))
