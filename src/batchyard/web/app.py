"""The console: a Starlette app for everything that is not an AWS API request."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from batchyard import __version__
from batchyard.config import Settings

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>batchyard</title></head>
<body><h1>batchyard {version}</h1>
<p>AWS Batch and Step Functions APIs at this address (region {region}, account {account}).</p>
<p>Point boto3 or the AWS CLI here with <code>--endpoint-url http://{host}</code>.</p>
</body></html>"""


def create_console(settings: Settings, ready: Callable[[], bool]) -> Starlette:
    """The console of a server with ``settings``; ``ready()`` says whether it serves yet."""

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE.format(
            version=__version__, region=settings.region, account=settings.account_id,
            host=request.headers.get("host", f"{settings.host}:{settings.port}"),
        ))

    async def health(_request: Request) -> JSONResponse:
        status = "ok" if ready() else "starting"
        return JSONResponse({"status": status, "version": __version__})

    return Starlette(routes=[Route("/", index), Route("/health", health)])
