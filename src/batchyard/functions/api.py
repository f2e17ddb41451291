"""The Lambda API (rest-json): each operation's input, as botocore's model parsed and checked
it, handed to the :class:`Lambda` facade."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from batchyard.aws.caller import Caller
from batchyard.functions.invocation import InvocationType
from batchyard.functions.layers import DOCUMENT_MEMBERS
from batchyard.functions.service import Lambda
from batchyard.protocol.service import Handler, Params, ServiceApi

# A 50 MB zip, base64-encoded inside the JSON body, is the largest direct upload Lambda takes.
_CODE_LIMIT = 69_905_067
_INVOKE_LIMIT = 6 * 1024 * 1024
_ALIAS = ("FunctionVersion", "Description", "RoutingConfig")


def _members(params: Params, *names: str) -> dict[str, Any]:
    return {name: params[name] for name in names if name in params}


def _settings(params: Params) -> dict[str, Any]:
    # The configuration members of CreateFunction: everything but the function's name, its
    # code and what the call does besides storing it.
    return {k: v for k, v in params.items() if k not in ("FunctionName", "Code", "Tags",
                                                          "Publish")}


def _changes(params: Params) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in ("FunctionName", "RevisionId")}


def _invoke(functions: Lambda) -> Handler:
    async def invoke(caller: Caller, params: Params) -> dict[str, Any]:
        result = await functions.invoke(
            caller, params["FunctionName"], params.get("Payload") or b"",
            InvocationType(params.get("InvocationType") or InvocationType.REQUEST_RESPONSE),
            qualifier=params.get("Qualifier"),
        )
        answer: dict[str, Any] = {"StatusCode": result.status, "Payload": result.payload}
        if result.function_error:
            answer["FunctionError"] = result.function_error
        if result.executed_version:
            answer["ExecutedVersion"] = result.executed_version
        if params.get("LogType") == "Tail" and result.status == 200:
            answer["LogResult"] = result.log_result
        return answer

    return invoke


def _delete_function(functions: Lambda) -> Handler:
    async def delete(caller: Caller, params: Params) -> dict[str, int]:
        await functions.delete_function(caller, params["FunctionName"], params.get("Qualifier"))
        return {"StatusCode": 204}

    return delete


def _no_content(call: Callable[[Caller, Params], Awaitable[None]]) -> Handler:
    # Operations whose model gives no output shape answer 204 with an empty body.
    async def run(caller: Caller, params: Params) -> None:
        await call(caller, params)

    return run


def _list_tags(functions: Lambda) -> Handler:
    async def tags(caller: Caller, params: Params) -> dict[str, dict[str, str]]:
        return {"Tags": await functions.list_tags(caller, params["Resource"])}

    return tags


def api(functions: Lambda) -> ServiceApi:
    """The Lambda API served by ``functions``."""
    return ServiceApi(
        "lambda",
        "InvalidParameterValueException",
        {
            "CreateFunction": lambda c, p: functions.create_function(
                c, p["FunctionName"], _settings(p), p.get("Code"), p.get("Tags"),
                bool(p.get("Publish")),
            ),
            "GetFunction": lambda c, p: functions.get_function(
                c, p["FunctionName"], p.get("Qualifier")
            ),
            "GetFunctionConfiguration": lambda c, p: functions.get_function_configuration(
                c, p["FunctionName"], p.get("Qualifier")
            ),
            "ListFunctions": lambda c, p: functions.list_functions(
                c, p.get("Marker"), p.get("MaxItems")
            ),
            "UpdateFunctionCode": lambda c, p: functions.update_function_code(
                c, p["FunctionName"], p, p.get("RevisionId"), bool(p.get("DryRun")),
                bool(p.get("Publish")),
            ),
            "UpdateFunctionConfiguration": lambda c, p: functions.update_function_configuration(
                c, p["FunctionName"], _changes(p), p.get("RevisionId")
            ),
            "DeleteFunction": _delete_function(functions),
            "Invoke": _invoke(functions),
            "ListTags": _list_tags(functions),
            "TagResource": lambda c, p: functions.tag_resource(c, p["Resource"], p["Tags"]),
            "UntagResource": lambda c, p: functions.untag_resource(
                c, p["Resource"], p["TagKeys"]
            ),
            "PublishVersion": lambda c, p: functions.publish_version(
                c, p["FunctionName"], p.get("Description"), p.get("CodeSha256"),
                p.get("RevisionId"),
            ),
            "ListVersionsByFunction": lambda c, p: functions.list_versions_by_function(
                c, p["FunctionName"], p.get("Marker"), p.get("MaxItems")
            ),
            "CreateAlias": lambda c, p: functions.create_alias(
                c, p["FunctionName"], p["Name"], _members(p, *_ALIAS)
            ),
            "GetAlias": lambda c, p: functions.get_alias(c, p["FunctionName"], p["Name"]),
            "UpdateAlias": lambda c, p: functions.update_alias(
                c, p["FunctionName"], p["Name"], _members(p, *_ALIAS, "RevisionId")
            ),
            "DeleteAlias": lambda c, p: functions.delete_alias(c, p["FunctionName"], p["Name"]),
            "ListAliases": lambda c, p: functions.list_aliases(
                c, p["FunctionName"], p.get("FunctionVersion"), p.get("Marker"),
                p.get("MaxItems"),
            ),
            "PutFunctionConcurrency": lambda c, p: functions.put_function_concurrency(
                c, p["FunctionName"], p["ReservedConcurrentExecutions"]
            ),
            "GetFunctionConcurrency": lambda c, p: functions.get_function_concurrency(
                c, p["FunctionName"]
            ),
            "DeleteFunctionConcurrency": _no_content(
                lambda c, p: functions.delete_function_concurrency(c, p["FunctionName"])
            ),
            "GetAccountSettings": lambda c, p: functions.get_account_settings(c),
            "PublishLayerVersion": lambda c, p: functions.publish_layer_version(
                c, p["LayerName"], p["Content"], _members(p, *DOCUMENT_MEMBERS)
            ),
            "GetLayerVersion": lambda c, p: functions.get_layer_version(
                c, p["LayerName"], p["VersionNumber"]
            ),
            "GetLayerVersionByArn": lambda c, p: functions.get_layer_version_by_arn(
                c, p["Arn"]
            ),
            "ListLayers": lambda c, p: functions.list_layers(
                c, p.get("CompatibleRuntime"), p.get("CompatibleArchitecture"),
                p.get("Marker"), p.get("MaxItems"),
            ),
            "ListLayerVersions": lambda c, p: functions.list_layer_versions(
                c, p["LayerName"], p.get("CompatibleRuntime"), p.get("CompatibleArchitecture"),
                p.get("Marker"), p.get("MaxItems"),
            ),
            "DeleteLayerVersion": _no_content(
                lambda c, p: functions.delete_layer_version(c, p["LayerName"],
                                                            p["VersionNumber"])
            ),
            "AddLayerVersionPermission": lambda c, p: functions.add_layer_version_permission(
                c, p["LayerName"], p["VersionNumber"], p["StatementId"], p["Principal"],
                p.get("OrganizationId"), p.get("RevisionId"),
            ),
            "GetLayerVersionPolicy": lambda c, p: functions.get_layer_version_policy(
                c, p["LayerName"], p["VersionNumber"]
            ),
            "RemoveLayerVersionPermission": _no_content(
                lambda c, p: functions.remove_layer_version_permission(
                    c, p["LayerName"], p["VersionNumber"], p["StatementId"],
                    p.get("RevisionId"),
                )
            ),
        },
        body_limits={
            "CreateFunction": (
                _CODE_LIMIT,
                f"Request must be smaller than {_CODE_LIMIT} bytes for the CreateFunction "
                "operation",
            ),
            "UpdateFunctionCode": (
                _CODE_LIMIT,
                f"Request must be smaller than {_CODE_LIMIT} bytes for the UpdateFunctionCode "
                "operation",
            ),
            "Invoke": (
                _INVOKE_LIMIT,
                f"Request must be smaller than {_INVOKE_LIMIT} bytes for the InvokeFunction "
                "operation",
            ),
        },
        default_body_limit=_CODE_LIMIT,
    )
