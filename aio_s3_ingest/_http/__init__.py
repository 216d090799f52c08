"""A lean HTTP/1.1 client for one origin: a connection pool, the asyncio protocol, and the
receive threads that move body bytes into buffers or files."""
