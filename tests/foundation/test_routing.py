"""A request reaches its service and operation by target header, credential scope or URI."""

import pytest

from batchyard.protocol.errors import UnknownOperation
from batchyard.protocol.service import ServiceApi
from batchyard.server.routing import Router, credential_scope

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKID/20261121/us-east-1/{service}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abc"
)


@pytest.fixture(scope="module")
def router() -> Router:
    return Router([
        ServiceApi("batch", "ClientException", {}),
        ServiceApi("lambda", "InvalidParameterValueException", {}),
        ServiceApi("stepfunctions", "ValidationException", {}),
        ServiceApi("logs", "InvalidParameterException", {}),
    ])


def test_target_header_picks_json_service_and_operation(router: Router) -> None:
    route = router.resolve("POST", "/", {"x-amz-target": "AWSStepFunctions.StartExecution"}, {})
    assert route is not None
    assert (route.service.name, route.operation.name) == ("stepfunctions", "StartExecution")
    route = router.resolve("POST", "/", {"x-amz-target": "Logs_20140328.GetLogEvents"}, {})
    assert route is not None and route.service.name == "logs"


def test_unknown_target_is_unknown_operation(router: Router) -> None:
    with pytest.raises(UnknownOperation):
        router.resolve("POST", "/", {"x-amz-target": "AWSStepFunctions.Explode"}, {})
    with pytest.raises(UnknownOperation):
        router.resolve("POST", "/", {"x-amz-target": "NoSuchService.Op"}, {})


def test_rest_json_uri_templates(router: Router) -> None:
    route = router.resolve("POST", "/v1/submitjob", {}, {})
    assert route is not None and route.operation.name == "SubmitJob"
    headers = {"authorization": AUTH.format(service="lambda")}
    path = "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/invocations"
    route = router.resolve("POST", path, headers, {})
    assert route is not None and route.operation.name == "Invoke"
    assert route.path_params["FunctionName"].startswith("arn%3Aaws")
    route = router.resolve("GET", "/2015-03-31/functions/", headers, {})
    assert route is not None and route.operation.name == "ListFunctions"


def test_credential_scope_restricts_rest_json_matching(router: Router) -> None:
    headers = {"authorization": AUTH.format(service="batch")}
    with pytest.raises(UnknownOperation):
        router.resolve("GET", "/2015-03-31/functions/", headers, {})


def test_json_service_scope_without_target_is_unknown_operation(router: Router) -> None:
    with pytest.raises(UnknownOperation):
        router.resolve("POST", "/", {"authorization": AUTH.format(service="states")}, {})


def test_plain_browser_request_is_not_an_aws_request(router: Router) -> None:
    assert router.resolve("GET", "/", {}, {}) is None


def test_credential_scope_from_header_and_presigned_query() -> None:
    assert credential_scope({"authorization": AUTH.format(service="batch")}, {}) == (
        "us-east-1", "batch"
    )
    query = {"X-Amz-Credential": ["AKID/20261121/eu-west-1/states/aws4_request"]}
    assert credential_scope({}, query) == ("eu-west-1", "states")
    assert credential_scope({}, {}) is None
