"""Cross-cutting pieces of the web layer, one copy each: the input guard and the
bounded id converter (``web.guard``), and the shared rate limiter (``web.ratelimit``)."""
