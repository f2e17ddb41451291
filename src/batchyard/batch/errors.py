"""What every Batch operation shares: the ClientException and its texts for names, page
tokens and tags.

Batch refuses a request with ``ClientException`` (HTTP 400) whatever the reason; the message
is AWS's where the guide or the API reference gives one.
"""

from __future__ import annotations

import re

from batchyard.aws.pagination import Pager
from batchyard.aws.tags import TagRules
from batchyard.protocol.errors import ServiceError

# AWS also refuses names that start with a hyphen or an underscore.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
DEFAULT_PAGE = 100


def client_error(message: str) -> ServiceError:
    """The ``ClientException`` Batch answers for a request it refuses."""
    return ServiceError("ClientException", message)


def require_name(value: str, label: str) -> str:
    """``value`` if it is 1-128 letters, digits, hyphens or underscores starting with a letter
    or digit, else AWS's ClientException naming ``label`` (e.g. "Job name")."""
    if NAME_PATTERN.fullmatch(value) is None:
        raise client_error(
            f"Error executing request, Exception : {label} should match valid pattern"
        )
    return value


def page_size(
    max_results: int | None, *, limit: int = DEFAULT_PAGE, default: int = DEFAULT_PAGE
) -> int:
    """The page size ``maxResults`` asks for, within 1..``limit`` as AWS requires."""
    if max_results is None:
        return default
    if max_results < 1 or max_results > limit:
        raise client_error(f"maxResults must be between 1 and {limit}.")
    return max_results


PAGER = Pager(lambda _token: client_error("Invalid nextToken"))
TAG_RULES = TagRules(too_many=client_error, invalid=client_error)
