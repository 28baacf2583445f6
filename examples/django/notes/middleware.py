"""Real client IP behind Bulwark, believed only when the TCP peer is a Bulwark instance; logs every request that arrives."""
import logging

from django.conf import settings

log = logging.getLogger("shieldsite.requests")


class RealClientIpMiddleware:
    """Sets REMOTE_ADDR to the client Bulwark saw.

    Bulwark sends X-Real-IP (the client address it computed, honouring its own trustedProxies) and appends the
    peer it saw to X-Forwarded-For. Neither header is believed unless the request comes from an address in
    BULWARK_PROXIES, so a client that reaches Django some other way cannot spoof its address.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.proxies = set(settings.BULWARK_PROXIES)

    def __call__(self, request):
        peer = request.META.get("REMOTE_ADDR", "")
        if peer in self.proxies:
            real = request.META.get("HTTP_X_REAL_IP", "").strip()
            if not real:
                hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
                untrusted = [h for h in hops if h not in self.proxies]
                real = untrusted[-1] if untrusted else (hops[0] if hops else "")
            if real:
                request.META["REMOTE_ADDR"] = real
        request.META["BULWARK_PEER"] = peer
        log.info("%s %s from %s", request.method, request.get_full_path(), request.META["REMOTE_ADDR"])
        return self.get_response(request)
