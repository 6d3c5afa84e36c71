"""gateway: the REST edge (Litestar). The only HTTP-aware code; it validates and routes over NATS."""
