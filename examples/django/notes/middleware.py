"""Real client IP from X-Forwarded-For, believed only when the peer is a Bulwark instance; logs every request."""
import logging

from django.conf import settings

log = logging.getLogger("shieldsite.requests")


class RealClientIpMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.proxies = set(settings.BULWARK_PROXIES)

    def __call__(self, request):
        peer = request.META.get("REMOTE_ADDR", "")
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if peer in self.proxies and forwarded:
            # Bulwark appends the address it saw last; the rightmost entry is the one Bulwark vouches for.
            request.META["REMOTE_ADDR"] = forwarded.split(",")[-1].strip()
        request.META["BULWARK_PEER"] = peer
        log.info("%s %s from %s", request.method, request.get_full_path(), request.META["REMOTE_ADDR"])
        return self.get_response(request)
