"""Ending a person's sessions when what they may do changes (a role change, a removal).

Authorization is read afresh on every request (the tenant middleware loads the memberships), so
ending sessions is defence in depth: a browser left open with the old rights, or a stolen
session cookie, stops working at once and the person logs in again."""

import logging
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

logger = logging.getLogger(__name__)


def user_sessions_end(*, user: AbstractBaseUser, except_session_key: str | None = None) -> int:
    """Delete every live session logged in as `user` (but the one `except_session_key` names, if
    given); returns how many. Needs a session engine with a database table (`db` or `cached_db`,
    the default `db` here): a logged-in session stores the user's primary key under
    `_auth_user_id`, which is only readable decoded."""
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store_class, "get_model_class"):
        logger.warning(
            "Cannot end the sessions of user %s: %s keeps no session table.",
            user.pk,
            settings.SESSION_ENGINE,
        )
        return 0
    user_id = str(user.pk)
    live = store_class.get_model_class().objects.filter(expire_date__gt=timezone.now())
    ended = 0
    if except_session_key:
        live = live.exclude(session_key=except_session_key)
    for session in live.iterator():
        if str(session.get_decoded().get(SESSION_KEY)) == user_id:
            # Through the store, so `cached_db` drops its cached copy too.
            store_class(session_key=session.session_key).delete()
            ended += 1
    if ended:
        logger.info("Ended %d session(s) of user %s.", ended, user_id)
    return ended
