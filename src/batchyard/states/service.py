"""Step Functions: the facade of state machines, executions and activities.

Every operation of the API is a method of :class:`StepFunctions`, taking the caller first; so
are what the integrations need: registering the invoker of a Task resource, starting,
describing and stopping executions, waiting for a task token, and knowing when what an
execution recorded is committed. Execution status changes are published on the bus under
:data:`EXECUTION_TOPIC` (payload: :meth:`Execution.status_change`). The rest of this package
is its private implementation.

Everything is in the caller's account and region: a name is looked up there, an ARN of
another account or region names nothing, and listings show only the caller's resources.
Pagination tokens are opaque positions in a listing; a token of another listing, or one this
server did not make, is InvalidToken.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.aws.pagination import Pager
from batchyard.bus import Bus
from batchyard.protocol.errors import ServiceError
from batchyard.states import arns, machines, tools
from batchyard.states.arns import (
    activity_does_not_exist,
    execution_does_not_exist,
    machine_does_not_exist,
    resource_not_found,
)
from batchyard.states.asl import InvalidDefinitionError, TaskInvoker, TaskRequest, parse_definition
from batchyard.states.asl.errors import RuntimeFailure
from batchyard.states.executions import Executions
from batchyard.states.machines import AliasCreated, Created, Updated
from batchyard.states.model import (
    Activity,
    Alias,
    Execution,
    ExecutionStatus,
    HistoryEvent,
    Machine,
    MachineType,
    MapRun,
    MapRunChild,
    Route,
    Tag,
    VersionItem,
)
from batchyard.states.runner import EXECUTION_TOPIC
from batchyard.states.tasks import ActivityTask
from batchyard.states.tools import StateTest, StateTestResult, Validation
from batchyard.store import Store

__all__ = ["EXECUTION_TOPIC", "StepFunctions", "page"]

T = TypeVar("T")

DEFAULT_PAGE = 100
MAX_PAGE = 1000

_pager = Pager(lambda token: ServiceError("InvalidToken", f"Invalid Token: '{token}'"))


# -- answers -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A page of a listing; ``items`` is the output's list member, whichever its name."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {
        name: "items" for name in (
            "stateMachines", "stateMachineVersions", "stateMachineAliases", "activities",
            "tags", "executions", "events", "mapRuns",
        )
    }

    items: list[T]
    next_token: str | None = None


def page(
    items: Sequence[T], token: str | None, max_results: int | None, listing: str
) -> Page[T]:
    """One page of ``items`` (a whole listing) from ``token``, of ``max_results`` items."""
    size = min(max_results or DEFAULT_PAGE, MAX_PAGE)
    return Page(*_pager.offset_page(listing, items, token, size))


@dataclass(frozen=True, slots=True)
class AliasUpdated:
    """UpdateStateMachineAlias's answer."""

    WIRE_NAMES: ClassVar[dict[str, str]] = {"updateDate": "updated"}

    updated: float


@dataclass(frozen=True, slots=True)
class Stopped:
    """StopExecution's answer."""

    stop_date: float


@dataclass(frozen=True, slots=True)
class Redriven:
    """RedriveExecution's answer."""

    redrive_date: float


def check_definition(definition: str, recognizes: Callable[[str], bool]) -> None:
    """Raise AWS's InvalidDefinition unless ``definition`` is a valid ASL document whose Task
    resources ``recognizes`` all."""
    try:
        parse_definition(definition, recognizes)
    except InvalidDefinitionError as exc:
        raise ServiceError("InvalidDefinition", exc.message) from None


def check_role(role_arn: str) -> None:
    """Raise InvalidArn unless ``role_arn`` looks like an IAM role ARN."""
    if not role_arn.startswith("arn:") or ":iam::" not in role_arn:
        raise arns.invalid_arn(role_arn, f"Invalid ARN prefix: {role_arn}")


class StepFunctions:
    """Step Functions over one store, its executions woken by ``bus`` events; waits run
    ``time_scale`` times faster (1: real time)."""

    def __init__(self, store: Store, bus: Bus, time_scale: float = 1.0) -> None:
        self._store = store
        self._executions = Executions(store, bus, time_scale)

    async def start(self) -> None:
        """Resume the Standard executions that were running when the server last stopped;
        register the integrations before, so that a resumed Task finds its invoker."""
        await self._executions.resume_all()

    async def stop(self) -> None:
        """Park every running execution: its journal is flushed, it resumes at the next start."""
        await self._executions.shutdown()

    # -- for the integrations ----------------------------------------------------------------
    def register_invoker(self, prefix: str, invoker: TaskInvoker) -> None:
        """Run the Task states whose resource starts with ``prefix`` with ``invoker``: it gets
        a :class:`TaskRequest` (whose ``caller`` is the execution's account and region) and
        returns the result or raises :class:`TaskFailure`. The longest prefix wins."""
        self._executions.invokers.register(prefix, invoker)

    async def wait_for_task_token(
        self, request: TaskRequest, call: Callable[[], Awaitable[object]]
    ) -> Any:
        """``.waitForTaskToken``: run ``call()`` (the service request that hands the task's
        token on), then return the output SendTaskSuccess sends for the token, or raise the
        :class:`TaskFailure` SendTaskFailure sends."""
        token = request.context.get("Task", {}).get("Token")
        if not isinstance(token, str):
            raise RuntimeFailure("No task token was issued for this task")
        return await self._executions.tokens.answer(
            token, request.execution_arn, request.heartbeat, call
        )

    async def settle(self, execution_arn: str) -> None:
        """Return once everything execution ``execution_arn`` has recorded is committed: what a
        task starts under a name derived from its attempt must come after its entry is."""
        await self._executions.settle(execution_arn)

    # -- state machines ------------------------------------------------------------------
    async def create_state_machine(
        self,
        caller: Caller,
        name: str,
        definition: str,
        role_arn: str,
        type: MachineType = MachineType.STANDARD,
        logging: JsonObject | None = None,
        tracing: JsonObject | None = None,
        encryption: JsonObject | None = None,
        tags: Mapping[str, str] | None = None,
        publish: bool = False,
        version_description: str | None = None,
    ) -> Created:
        """CreateStateMachine: idempotent for an identical request (not publishing)."""
        check_definition(definition, self._executions.invokers.recognizes)
        check_role(role_arn)
        config = machines.configured(logging, tracing, encryption)
        return await self._store.write(partial(
            machines.create, caller=caller, name=name, definition=definition,
            role_arn=role_arn, kind=type, config=config, tag_map=tags or {},
            publish_version=publish, version_description=version_description,
        ))

    async def describe_state_machine(self, caller: Caller, arn: str) -> Machine:
        """DescribeStateMachine of a machine or a version."""
        arns.owned(caller, arn, machine_does_not_exist, "stateMachine")
        arns.split_qualified(arn)
        return await self._store.read(partial(machines.describe, arn=arn))

    async def update_state_machine(
        self,
        caller: Caller,
        arn: str,
        definition: str | None = None,
        role_arn: str | None = None,
        logging: JsonObject | None = None,
        tracing: JsonObject | None = None,
        encryption: JsonObject | None = None,
        publish: bool = False,
        version_description: str | None = None,
    ) -> Updated:
        """UpdateStateMachine: a new revision, and a new version when ``publish``."""
        arns.owned(caller, arn, machine_does_not_exist, "stateMachine")
        arns.split_qualified(arn)
        if definition is not None:
            check_definition(definition, self._executions.invokers.recognizes)
        if role_arn is not None:
            check_role(role_arn)
        return await self._store.write(partial(
            machines.update, arn=arn, definition=definition, role_arn=role_arn,
            logging=logging, tracing=tracing, encryption=encryption, publish_version=publish,
            version_description=version_description,
        ))

    async def delete_state_machine(self, caller: Caller, arn: str) -> None:
        """DeleteStateMachine (with its versions, aliases and tags), or one version."""
        arns.owned(caller, arn, machine_does_not_exist, "stateMachine")
        arns.split_qualified(arn)
        await self._store.write(partial(machines.delete, arn=arn))

    async def list_state_machines(
        self, caller: Caller, max_results: int | None = None, next_token: str | None = None
    ) -> Page[Machine]:
        """ListStateMachines: the caller's, oldest first."""
        items = await self._store.read(partial(machines.list_machines, caller=caller))
        return page(items, next_token, max_results, "machines")

    async def publish_state_machine_version(
        self, caller: Caller, arn: str, revision_id: str | None = None,
        description: str | None = None,
    ) -> VersionItem:
        """PublishStateMachineVersion of the machine's current revision."""
        arns.owned(caller, arn, machine_does_not_exist, "stateMachine")
        return await self._store.write(partial(
            machines.publish, arn=arn, revision_id=revision_id, description=description
        ))

    async def list_state_machine_versions(
        self, caller: Caller, arn: str, max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[VersionItem]:
        """ListStateMachineVersions, newest first."""
        arns.owned(caller, arn, machine_does_not_exist, "stateMachine")
        items = await self._store.read(partial(machines.list_versions, arn=arn))
        return page(items, next_token, max_results, f"versions:{arn}")

    async def delete_state_machine_version(self, caller: Caller, arn: str) -> None:
        """DeleteStateMachineVersion: refused while an alias routes to it."""
        arns.owned(caller, arn, machine_does_not_exist, "stateMachine")
        await self._store.write(partial(machines.delete_version, arn=arn))

    # -- aliases ---------------------------------------------------------------------------
    async def create_state_machine_alias(
        self, caller: Caller, name: str, routing: list[Route], description: str | None = None
    ) -> AliasCreated:
        """CreateStateMachineAlias routing to versions of one of the caller's machines."""
        for route in routing:
            arns.owned(caller, route.state_machine_version_arn, resource_not_found,
                       "stateMachine")
        return await self._store.write(partial(
            machines.create_alias, name=name, routing=routing, description=description
        ))

    async def describe_state_machine_alias(self, caller: Caller, arn: str) -> Alias:
        """DescribeStateMachineAlias."""
        arns.owned(caller, arn, resource_not_found, "stateMachine")
        return await self._store.read(partial(machines.get_alias, arn=arn))

    async def update_state_machine_alias(
        self, caller: Caller, arn: str, description: str | None = None,
        routing: list[Route] | None = None,
    ) -> AliasUpdated:
        """UpdateStateMachineAlias: a new description and/or routing."""
        arns.owned(caller, arn, resource_not_found, "stateMachine")
        updated = await self._store.write(partial(
            machines.update_alias, arn=arn, description=description, routing=routing
        ))
        return AliasUpdated(updated)

    async def delete_state_machine_alias(self, caller: Caller, arn: str) -> None:
        """DeleteStateMachineAlias."""
        arns.owned(caller, arn, resource_not_found, "stateMachine")
        await self._store.write(partial(machines.delete_alias, arn=arn))

    async def list_state_machine_aliases(
        self, caller: Caller, arn: str, max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[AliasCreated]:
        """ListStateMachineAliases of an unqualified machine ARN."""
        arns.owned(caller, arn, machine_does_not_exist, "stateMachine")
        items = await self._store.read(partial(machines.list_aliases, machine=arn))
        return page(items, next_token, max_results, f"aliases:{arn}")

    # -- executions ------------------------------------------------------------------------
    async def start_execution(
        self, caller: Caller, state_machine_arn: str, name: str | None = None,
        input: str | None = None, trace_header: str | None = None,
    ) -> Execution:
        """StartExecution of a machine, version or alias: idempotent for a running execution
        of the same name and input. EventBridge targets and ``states:startExecution`` tasks
        start executions here too."""
        arns.owned(caller, state_machine_arn, machine_does_not_exist, "stateMachine")
        return await self._executions.start(state_machine_arn, name, input, trace_header)

    async def start_sync_execution(
        self, caller: Caller, state_machine_arn: str, name: str | None = None,
        input: str | None = None, trace_header: str | None = None,
    ) -> Execution:
        """StartSyncExecution: run an Express machine to its end."""
        arns.owned(caller, state_machine_arn, machine_does_not_exist, "stateMachine")
        return await self._executions.start_sync(state_machine_arn, name, input, trace_header)

    async def stop_execution(
        self, caller: Caller, arn: str, error: str | None = None, cause: str | None = None
    ) -> Stopped:
        """StopExecution: abort a running Standard execution."""
        self._own_execution(caller, arn)
        return Stopped(await self._executions.stop(arn, error, cause))

    async def describe_execution(self, caller: Caller, arn: str) -> Execution | MapRunChild:
        """DescribeExecution of an execution, or of a distributed Map's child."""
        self._own_execution(caller, arn)
        return await self._executions.describe(arn)

    async def describe_state_machine_for_execution(self, caller: Caller, arn: str) -> Machine:
        """DescribeStateMachineForExecution: the machine as the execution started it."""
        self._own_execution(caller, arn)
        execution = await self._executions.get(arn)
        return execution.source.machine(execution.machine_arn)

    async def list_executions(
        self,
        caller: Caller,
        state_machine_arn: str | None = None,
        map_run_arn: str | None = None,
        status: ExecutionStatus | None = None,
        redrive_filter: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[Execution] | Page[MapRunChild]:
        """ListExecutions of a state machine (or version, or alias), or of a Map Run."""
        if (state_machine_arn is None) == (map_run_arn is None):
            raise ServiceError(
                "ValidationException", "Must provide a StateMachine ARN or a MapRun ARN"
            )
        listing = f"executions:{state_machine_arn or map_run_arn}"
        if map_run_arn is not None:
            arns.owned(caller, map_run_arn, resource_not_found, "mapRun")
            children = await self._executions.map_runs.children(map_run_arn, status)
            return page(children, next_token, max_results, listing)
        assert state_machine_arn is not None
        arns.owned(caller, state_machine_arn, machine_does_not_exist, "stateMachine")
        items = await self._executions.list_for_machine(state_machine_arn, status, redrive_filter)
        return page(items, next_token, max_results, listing)

    async def get_execution_history(
        self,
        caller: Caller,
        arn: str,
        max_results: int | None = None,
        next_token: str | None = None,
        reverse_order: bool = False,
        include_execution_data: bool = True,
    ) -> Page[HistoryEvent]:
        """GetExecutionHistory, oldest first unless ``reverse_order``."""
        self._own_execution(caller, arn)
        events = await self._executions.history(arn)
        if reverse_order:
            events.reverse()
        found = page(events, next_token, max_results, f"history:{arn}:{reverse_order}")
        if include_execution_data:
            return found
        return Page([event.without_data() for event in found.items], found.next_token)

    async def redrive_execution(self, caller: Caller, arn: str) -> Redriven:
        """RedriveExecution: restart a failed, timed out or aborted execution where it
        failed."""
        self._own_execution(caller, arn)
        return Redriven(await self._executions.redrive(arn))

    @staticmethod
    def _own_execution(
        caller: Caller, arn: str, kinds: tuple[str, ...] = ("execution", "express")
    ) -> None:
        parsed = arns.owned(caller, arn, execution_does_not_exist, *kinds)
        if len(parsed.parts) < 2:
            raise arns.invalid_arn(arn)

    # -- task tokens and activities --------------------------------------------------------
    async def send_task_success(self, caller: Caller, token: str, output: str) -> None:
        """SendTaskSuccess: the task's output, JSON."""
        await self._executions.send_task_success(caller, token, output)

    async def send_task_failure(
        self, caller: Caller, token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        """SendTaskFailure."""
        await self._executions.send_task_failure(caller, token, error, cause)

    async def send_task_heartbeat(self, caller: Caller, token: str) -> None:
        """SendTaskHeartbeat."""
        await self._executions.send_task_heartbeat(caller, token)

    async def get_activity_task(
        self, caller: Caller, arn: str, worker_name: str | None = None
    ) -> ActivityTask | None:
        """GetActivityTask: the next task of an activity, long-polling up to 60 seconds."""
        arns.owned(caller, arn, activity_does_not_exist, "activity")
        return await self._executions.get_activity_task(arn, worker_name)

    async def create_activity(
        self, caller: Caller, name: str, tags: Mapping[str, str] | None = None,
        encryption: JsonObject | None = None,
    ) -> Activity:
        """CreateActivity: creating an existing activity returns it."""
        return await self._store.write(partial(
            machines.create_activity, caller=caller, name=name, tag_map=tags or {},
            encryption=encryption,
        ))

    async def describe_activity(self, caller: Caller, arn: str) -> Activity:
        """DescribeActivity."""
        arns.owned(caller, arn, activity_does_not_exist, "activity")
        found = await self._store.read(partial(machines.find_activity, arn=arn))
        if found is None:
            raise activity_does_not_exist(arn)
        return found

    async def delete_activity(self, caller: Caller, arn: str) -> None:
        """DeleteActivity."""
        arns.owned(caller, arn, activity_does_not_exist, "activity")
        await self._store.write(partial(machines.delete_activity, arn=arn))

    async def list_activities(
        self, caller: Caller, max_results: int | None = None, next_token: str | None = None
    ) -> Page[Activity]:
        """ListActivities: the caller's, oldest first."""
        items = await self._store.read(partial(machines.list_activities, caller=caller))
        return page(items, next_token, max_results, "activities")

    # -- tags ------------------------------------------------------------------------------
    async def tag_resource(self, caller: Caller, arn: str, tags: Mapping[str, str]) -> None:
        """TagResource of a state machine or an activity."""
        arns.owned(caller, arn, resource_not_found, "stateMachine", "activity")

        def write(conn: Any) -> None:
            machines.tagged(conn, arn)
            machines.put_tags(conn, arn, tags)

        await self._store.write(write)

    async def untag_resource(self, caller: Caller, arn: str, keys: list[str]) -> None:
        """UntagResource."""
        arns.owned(caller, arn, resource_not_found, "stateMachine", "activity")

        def write(conn: Any) -> None:
            machines.tagged(conn, arn)
            machines.remove_tags(conn, arn, keys)

        await self._store.write(write)

    async def list_tags_for_resource(self, caller: Caller, arn: str) -> Page[Tag]:
        """ListTagsForResource."""
        arns.owned(caller, arn, resource_not_found, "stateMachine", "activity")

        def read(conn: Any) -> list[Tag]:
            machines.tagged(conn, arn)
            return machines.list_tags(conn, arn)

        return Page(await self._store.read(read))

    # -- definitions -----------------------------------------------------------------------
    async def validate_state_machine_definition(
        self, _caller: Caller, definition: str, max_results: int | None = None
    ) -> Validation:
        """ValidateStateMachineDefinition: every problem of ``definition``."""
        return tools.validate(definition, max_results, self._executions.invokers.recognizes)

    async def test_state(self, caller: Caller, test: StateTest) -> StateTestResult:
        """TestState: one state run on its own, its tasks calling the real integrations
        unless mocked."""
        return await tools.run_state(caller, test, self._executions.invokers)

    # -- Map Runs --------------------------------------------------------------------------
    async def describe_map_run(self, caller: Caller, arn: str) -> MapRun:
        """DescribeMapRun, with counts as of now."""
        arns.owned(caller, arn, resource_not_found, "mapRun")
        return await self._executions.map_runs.describe(arn)

    async def list_map_runs(
        self, caller: Caller, execution_arn: str, max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[MapRun]:
        """ListMapRuns of an execution."""
        self._own_execution(caller, execution_arn, ("execution",))
        await self._executions.get(execution_arn)
        items = await self._executions.map_runs.list_for(execution_arn)
        return page(items, next_token, max_results, f"maps:{execution_arn}")

    async def update_map_run(
        self,
        caller: Caller,
        arn: str,
        max_concurrency: int | None = None,
        tolerated_failure_percentage: float | None = None,
        tolerated_failure_count: int | None = None,
    ) -> None:
        """UpdateMapRun: its concurrency and tolerated failures."""
        arns.owned(caller, arn, resource_not_found, "mapRun")
        await self._executions.map_runs.update(
            arn, max_concurrency, tolerated_failure_percentage, tolerated_failure_count
        )
