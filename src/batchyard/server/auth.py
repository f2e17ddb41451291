"""Signature Version 4 as AWS checks it, and who a request acts for.

With credentials configured every AWS API request must be signed (Authorization header or
presigned query) by one of them: the signature is recomputed with botocore's own signer over
the request as received, and AWS's error codes and texts answer a missing token, an unknown
key, a bad signature or a request time more than five minutes off. The account is the key's,
the region the credential scope's.

Without credentials (development mode) any well-formed signature, or none, is accepted; an
access key id of 12 digits is its own account, any other acts in the default account. That is
safe only where nobody else can connect: :func:`refuse_open_listener` keeps such a server on
loopback.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from batchyard.config import Credential, Settings
from batchyard.protocol.errors import ServiceError

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 5 * 60
# A presigned URL may live at most seven days, as on AWS.
MAX_EXPIRES_SECONDS = 7 * 24 * 3600
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_AMZ_DATE_SHAPE = re.compile(r"(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z")
# A region is one DNS label (botocore's own rule), in lower case since it ends up in ARNs.
_REGION = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_ACCOUNT_KEY = re.compile(r"\d{12}")
_QUOTED_LIMIT = 1024
# The Authorization header as SDKs write it (the fast way through development mode).
_USUAL_HEADER = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^,\s]+), ?SignedHeaders=([^,\s]+), ?Signature=([0-9a-f]+)"
)
_PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                   "X-Amz-SignedHeaders", "X-Amz-Date")


class AuthFailure(ServiceError):
    """A request the signature check refuses: 403 with AWS's code and text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status=403)


def _missing_token() -> AuthFailure:
    return AuthFailure("MissingAuthenticationTokenException", "Missing Authentication Token")


def _invalid_token() -> AuthFailure:
    return AuthFailure(
        "UnrecognizedClientException", "The security token included in the request is invalid."
    )


def _incomplete(message: str) -> AuthFailure:
    return AuthFailure("IncompleteSignatureException", message)


def _invalid(message: str) -> AuthFailure:
    return AuthFailure("InvalidSignatureException", message)


def _quoted(text: str) -> str:
    return text if len(text) <= _QUOTED_LIMIT else text[:_QUOTED_LIMIT] + "..."


@dataclass(slots=True)
class Identity:
    """Who a request acts for: its caller's account and region."""

    account_id: str
    region: str


@dataclass(slots=True)
class _Signed:
    """The signature parts of one request, from its Authorization header or its query."""

    access_key_id: str
    scope_date: str
    region: str
    service: str
    signed_list: str
    signature: str
    amz_date: str | None
    expires: int | None
    token: str | None

    @property
    def signed_headers(self) -> tuple[str, ...]:
        """The names in SignedHeaders, lower case."""
        return tuple(n.strip().lower() for n in self.signed_list.split(";") if n.strip())


@dataclass(slots=True)
class Pending:
    """A request whose signature is checked once its body is read (:meth:`Authenticator.verify`)."""

    identity: Identity
    signed: _Signed | None
    credential: Credential | None


class _Verifier(SigV4Auth):
    """botocore's SigV4 signer over a request as received: its headers are exactly those the
    client says it signed, and its body's hash is known."""

    def __init__(self, credential: Credential, signed: _Signed, payload_hash: str) -> None:
        super().__init__(
            Credentials(credential.access_key_id, credential.secret_access_key),
            signed.service, signed.region,
        )
        self._payload_hash = payload_hash

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return request.headers

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


class Authenticator:
    """Checks requests' signatures against the configured credentials."""

    def __init__(self, settings: Settings, now: Callable[[], float] = time.time) -> None:
        self.development = settings.development_mode
        self.default = Identity(settings.account_id, settings.region)
        self.keys = {c.access_key_id: c for c in settings.credentials}
        self._now = now

    def authenticate(
        self, service: str | None, headers: Mapping[str, str], query: Mapping[str, list[str]]
    ) -> Pending:
        """Check everything but the signature itself, which needs the body.

        ``service`` is the signing name of the service the request was routed to (None when
        the route is unknown: the credential scope's service is then not checked).
        """
        authorization = headers.get("authorization")
        presigned = "X-Amz-Algorithm" in query or "X-Amz-Signature" in query
        if authorization is not None and presigned:
            raise _incomplete(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
                "or the Authorization header should be specified"
            )
        if authorization is not None:
            signed = _from_header(authorization, headers, strict=not self.development)
        elif presigned:
            signed = _from_query(query, strict=not self.development)
        elif self.development:
            return Pending(self.default, None, None)
        else:
            raise _missing_token()

        _check_scope(signed, service)
        if self.development:
            account = (
                signed.access_key_id if _ACCOUNT_KEY.fullmatch(signed.access_key_id)
                else self.default.account_id
            )
            return Pending(Identity(account, signed.region), None, None)

        credential = self.keys.get(signed.access_key_id)
        if credential is None or not _token_matches(credential, signed.token):
            raise _invalid_token()
        assert signed.amz_date is not None
        self._check_time(signed)
        return Pending(Identity(credential.account_id, signed.region), signed, credential)

    def verify(
        self,
        pending: Pending,
        method: str,
        raw_path: str,
        query_string: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> None:
        """Recompute the signature of the request as received and compare it (in constant
        time) with the one it carries; raise :class:`AuthFailure` when they differ."""
        signed, credential = pending.signed, pending.credential
        if signed is None or credential is None:
            return
        names = signed.signed_headers
        header_map = HTTPHeaders()
        for name, value in headers:
            if name in names:
                header_map[name] = value
        payload_hash = hashlib.sha256(body).hexdigest()
        declared = header_map.get("x-amz-content-sha256")
        if declared is not None and declared != payload_hash:
            raise _invalid(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            )
        # The query as the client had to sign it: each name and value decoded, then encoded
        # as SigV4 encodes them (botocore's signer sorts the pairs).
        canonical_query = "&".join(
            f"{quote(unquote(key), safe='-_.~')}={quote(unquote(value), safe='-_.~')}"
            for key, _, value in (pair.partition("=") for pair in query_string.split("&") if pair)
            if unquote(key) != "X-Amz-Signature"
        )
        url = f"http://{header_map.get('host', '')}{raw_path}"
        request = AWSRequest(method=method, url=f"{url}?{canonical_query}", data=body)
        request.headers = header_map
        assert signed.amz_date is not None
        request.context["timestamp"] = signed.amz_date
        verifier = _Verifier(credential, signed, payload_hash)
        canonical = verifier.canonical_request(request)
        to_sign = verifier.string_to_sign(request, canonical)
        expected = verifier.signature(to_sign, request)
        if not hmac.compare_digest(expected.encode(), signed.signature.encode("utf-8", "replace")):
            raise _invalid(
                "The request signature we calculated does not match the signature you "
                "provided. Check your AWS Secret Access Key and signing method. Consult the "
                "service documentation for details.\n\n"
                f"The Canonical String for this request should have been\n'{canonical}'\n\n"
                f"The String-to-Sign should have been\n'{to_sign}'\n"
            )

    def _check_time(self, signed: _Signed) -> None:
        assert signed.amz_date is not None
        when = _parse_date(signed.amz_date).timestamp()
        now = self._now()
        if signed.expires is not None:
            if now > when + signed.expires:
                raise _invalid(
                    f"Signature expired: {signed.amz_date} is now earlier than "
                    f"{_stamp(now - signed.expires)} ({_stamp(now)} - {signed.expires} sec.)"
                )
        elif now - when > MAX_SKEW_SECONDS:
            raise _invalid(
                f"Signature expired: {signed.amz_date} is now earlier than "
                f"{_stamp(now - MAX_SKEW_SECONDS)} ({_stamp(now)} - 5 min.)"
            )
        if when - now > MAX_SKEW_SECONDS:
            raise _invalid(
                f"Signature not yet current: {signed.amz_date} is still later than "
                f"{_stamp(now + MAX_SKEW_SECONDS)} ({_stamp(now)} + 5 min.)"
            )


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(_AMZ_DATE)


def _token_matches(credential: Credential, token: str | None) -> bool:
    if not credential.session_token:
        return token is None
    return token is not None and hmac.compare_digest(
        credential.session_token.encode(), token.encode("utf-8", "replace")
    )


def _from_header(value: str, headers: Mapping[str, str], *, strict: bool) -> _Signed:
    """The parts of an Authorization header; ``strict`` (the signature will be verified)
    also reads and checks the request's date."""
    usual = _USUAL_HEADER.fullmatch(value)
    if usual is not None and not strict:
        credential, signed_headers, signature = usual.groups()
        token = headers.get("x-amz-security-token")
        return _signed(credential, signed_headers, signature, None, None, token)
    algorithm, _, rest = value.strip().partition(" ")
    pairs: dict[str, str] = {}
    for item in rest.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, val = item.partition("=")
        if not sep:
            raise _incomplete(
                f"'{_quoted(item)}' not a valid key=value pair (missing equal-sign) in "
                f"Authorization header: '{_quoted(value)}'."
            )
        pairs[key.strip()] = val.strip()
    amz_date = _header_date(headers) if strict else None
    problems = [
        f"Authorization header requires '{name}' parameter. "
        for name in ("Credential", "Signature", "SignedHeaders") if not pairs.get(name)
    ]
    if amz_date is None and strict:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
            "header. "
        )
    if problems:
        raise _incomplete("".join(problems) + f"Authorization={_quoted(value)}")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{_quoted(algorithm)}'")
    return _signed(
        pairs["Credential"], pairs["SignedHeaders"], pairs["Signature"], amz_date,
        None, headers.get("x-amz-security-token"),
    )


def _header_date(headers: Mapping[str, str]) -> str | None:
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        _check_date(amz_date)
        return amz_date
    date = headers.get("date")
    if date is None:
        return None
    try:
        parsed = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise _incomplete(f"Date must be in RFC 1123 format. Got '{_quoted(date)}'.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime(_AMZ_DATE)


def _parse_date(amz_date: str) -> datetime:
    """The time of an ISO-8601 basic ``YYYYMMDDTHHMMSSZ`` (checked by :func:`_check_date`)."""
    match = _AMZ_DATE_SHAPE.fullmatch(amz_date)
    assert match is not None
    year, month, day, hour, minute, second = map(int, match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _check_date(amz_date: str) -> None:
    try:
        if _AMZ_DATE_SHAPE.fullmatch(amz_date) is not None:
            _parse_date(amz_date)
            return
    except ValueError:
        pass
    raise _incomplete(
        f"Date must be in ISO-8601 'basic format'. Got '{_quoted(amz_date)}'. See "
        "http://en.wikipedia.org/wiki/ISO_8601"
    )


def _from_query(query: Mapping[str, list[str]], *, strict: bool) -> _Signed:
    """The parts of a presigned query; ``strict`` wants all of them, the date checked."""
    values = {name: query[name][-1] for name in _PRESIGN_PARAMS if name in query}
    needed = _PRESIGN_PARAMS if strict else _PRESIGN_PARAMS[:4]
    if any(not values.get(name) for name in needed):
        raise _incomplete(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
            "'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'. Re-examine the "
            "query-string parameters."
        )
    if values["X-Amz-Algorithm"] != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{_quoted(values['X-Amz-Algorithm'])}'")
    amz_date = values.get("X-Amz-Date") if strict else None
    if amz_date is not None:
        _check_date(amz_date)
    raw_expires = query.get("X-Amz-Expires", [str(MAX_EXPIRES_SECONDS)])[-1]
    if not raw_expires.isdigit() or not 0 < int(raw_expires) <= MAX_EXPIRES_SECONDS:
        raise _incomplete(
            "X-Amz-Expires must be a whole number of seconds from 1 to "
            f"{MAX_EXPIRES_SECONDS}, got '{_quoted(raw_expires)}'."
        )
    token = query["X-Amz-Security-Token"][-1] if "X-Amz-Security-Token" in query else None
    return _signed(
        values["X-Amz-Credential"], values["X-Amz-SignedHeaders"], values["X-Amz-Signature"],
        amz_date, int(raw_expires), token,
    )


def _signed(
    credential: str, signed_headers: str, signature: str, amz_date: str | None,
    expires: int | None, token: str | None,
) -> _Signed:
    parts = credential.split("/")
    if len(parts) != 5:
        raise _incomplete(
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{_quoted(credential)}'"
        )
    key, scope_date, region, service, terminator = parts
    if terminator != "aws4_request":
        raise _invalid(
            "Credential should be scoped with a valid terminator: 'aws4_request', not "
            f"'{_quoted(terminator)}'. "
        )
    if not _REGION.fullmatch(region):
        raise _invalid("Credential should be scoped to a valid region. ")
    if amz_date is not None and scope_date != amz_date[:8]:
        raise _invalid(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{_quoted(scope_date)}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    return _Signed(
        key, scope_date, region, service, signed_headers, signature, amz_date, expires, token
    )


def _check_scope(signed: _Signed, service: str | None) -> None:
    if service is not None and signed.service != service:
        raise _invalid(f"Credential should be scoped to correct service: '{service}'. ")


class InsecureListener(ValueError):
    """Development mode asked to listen where other machines can connect."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) is reachable from this machine only."""
    name = host.strip("[]")
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    if not name:
        return False
    try:
        infos = socket.getaddrinfo(name, None)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(str(address).split("%")[0]).is_loopback for address in addresses
    )


def refuse_open_listener(settings: Settings) -> None:
    """Raise :class:`InsecureListener` when a development-mode server would listen on an
    address other machines can reach."""
    if settings.development_mode and not is_loopback(settings.host):
        raise InsecureListener(
            f"refusing to listen on {settings.host or 'all addresses'} without credentials: "
            "development mode accepts any access key, so it serves only a loopback address "
            "(127.0.0.1, ::1, localhost).\n"
            "To serve other machines, configure the access keys requests must be signed with, "
            "in a TOML file named by BATCHYARD_CREDENTIALS_FILE (or --credentials-file), or in "
            "batchyard.toml:\n\n"
            "    [[credentials]]\n"
            '    access_key_id = "AKIAEXAMPLEKEY000001"\n'
            '    secret_access_key = "a long random secret"\n'
            '    account_id = "123456789012"\n\n'
            "(several [[credentials]] tables may be given, one per key)."
        )

