"""The ASGI application: routes a request to a service operation, mounts the console."""
