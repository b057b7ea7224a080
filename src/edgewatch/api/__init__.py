"""The HTTP API: app factory, lifespan, middleware, problem documents and health."""

#: Every versioned JSON route lives under this prefix. Routers carry it themselves (rather than
#: getting it from ``include_router``) so a route's ``path`` is its full template for metrics.
API_V1_PREFIX = "/api/v1"
