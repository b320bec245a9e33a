import inspect
import os
from typing import Any

from celery import Celery, signals

from mfapp.core import rls

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mfapp.settings.local")

app = Celery("mfapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Every task runs in a database context of its own (mfapp.core.rls): a tenant's task names its
# tenant in a `tenant_id` argument; any other task is a platform job, which sees no tenant's
# rows unless it asks for `platform_access`. Nothing leaks in from the caller (an eager task
# inside a request) or from the worker's previous task.
_task_contexts: dict[str, Any] = {}


def task_tenant_id(task: Any, args: tuple, kwargs: dict) -> int | None:
    try:
        bound = inspect.signature(task.run).bind_partial(*args, **kwargs)
    except TypeError:
        return None
    return bound.arguments.get("tenant_id")


@signals.task_prerun.connect
def _task_context_enter(task_id: str, task: Any, args: tuple, kwargs: dict, **_: Any) -> None:
    tenant_id = task_tenant_id(task, args, kwargs)
    context = rls.tenant_context(tenant_id) if tenant_id is not None else rls.user_context(None)
    context.__enter__()
    _task_contexts[task_id] = context


@signals.task_postrun.connect
def _task_context_exit(task_id: str, **_: Any) -> None:
    context = _task_contexts.pop(task_id, None)
    if context is not None:
        context.__exit__(None, None, None)
