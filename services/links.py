"""Absolute links to this site: feeds, API paging, webcal subscriptions, QR codes, emails.

Every absolute URL is built here, from ``PUBLIC_BASE_URL`` when it is configured (the
address the public uses, e.g. ``https://hongpu.example.org``), so that a request with a
forged ``Host`` header cannot put another site's address into what the platform hands
out. Only when it is unset does the link follow the request itself; then whatever caches
such a link must key it by ``base_url()`` (see services/ical.py).
"""
from flask import current_app, has_request_context, request


def base_url():
    """Scheme, host and path prefix that absolute links start with (no trailing slash)."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    if configured:
        return configured
    if has_request_context():
        return request.host_url.rstrip("/") + request.script_root
    raise RuntimeError("PUBLIC_BASE_URL is not set and there is no request to take the address from")


def path_for(endpoint, **values):
    """The site-relative path of ``endpoint`` (no script root), inside or outside a request."""
    adapter = current_app.url_map.bind("localhost", script_name="/")
    current_app.inject_url_defaults(endpoint, values)
    anchor = values.pop("_anchor", None)
    path = adapter.build(endpoint, values)
    return path + (f"#{anchor}" if anchor else "")


def external_url(endpoint, **values):
    """The absolute URL of ``endpoint`` for people and programs outside this request."""
    return base_url() + path_for(endpoint, **values)


def webcal_url(endpoint, **values):
    """The same address with the webcal:// scheme phone calendars subscribe to."""
    return "webcal://" + external_url(endpoint, **values).split("://", 1)[1]
