"""EventBridge: the facade of event buses, rules, targets and the events put on the buses.

The API's operations and what other code needs (putting events from a Step Functions task,
an AWS service's events on an account's default bus, registering who delivers to a kind of
target) are methods of :class:`EventBridge`; the rest of this package is its private
implementation.

Every bus and rule belongs to the caller's account and region; each account and region has
its ``default`` bus (where AWS services put their events) and the custom buses it creates. At
start-up the buses and rules are loaded from the store into the in-memory catalog that
matching and schedules use; each committed change updates it. Archives are in the catalog
too, so an event is matched against them in memory and written only when one keeps it.
Replays run in :mod:`replays`; API destinations are a target kind of this service's own,
delivered over HTTP by :mod:`api_destinations` with their connection's credentials, which
leave the store only in those requests.

PutTargets: a target configuration that cannot work (a malformed ARN, more than one input
option, an input transformer with undefined placeholders, a Batch target without
BatchParameters) fails the whole request, so nothing is stored; an ARN of a kind no
registered deliverer serves comes back in FailedEntries while the other targets are stored.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from sqlalchemy import Connection

from batchyard.aws import arns
from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject, copy_json
from batchyard.aws.pagination import Pager
from batchyard.aws.tags import TagRules
from batchyard.events import archive_records, connection_records, records
from batchyard.events.api_destinations import (
    API_DESTINATION,
    ApiDestinationTarget,
    AuthorizationFailed,
)
from batchyard.events.archives import (
    CANCELLABLE,
    Archive,
    ArchiveResult,
    Archives,
    CancelReplayResult,
    Replay,
    ReplayDestination,
    Replays,
    ReplayState,
    StartReplayResult,
)
from batchyard.events.catalog import BusKey, RuleCatalog, bus_key
from batchyard.events.connections import (
    DEFAULT_RATE_LIMIT,
    ApiDestination,
    ApiDestinationResult,
    ApiDestinations,
    AuthorizationType,
    ConnectionResult,
    Connections,
    ConnectionState,
    InvalidAuth,
    check,
    merged,
    shown,
)
from batchyard.events.connections import (
    Connection as EventsConnection,
)
from batchyard.events.dispatch import Dispatcher
from batchyard.events.envelopes import EntryError, epoch_of, put_events_entry, service_event
from batchyard.events.model import (
    DEFAULT_BUS,
    CreateEventBusResult,
    EventBus,
    EventBuses,
    FailedTarget,
    PatternResult,
    PutEventsEntry,
    PutEventsResult,
    PutEventsResultEntry,
    PutRuleResult,
    Rule,
    RuleNames,
    Rules,
    RuleState,
    ServiceEvent,
    Tag,
    TagList,
    Target,
    Targets,
    TargetsResult,
)
from batchyard.events.patterns import InvalidEventPattern, compile_pattern, matches
from batchyard.events.replays import Replayer
from batchyard.events.schedule import InvalidSchedule, parse_schedule
from batchyard.events.scheduler import ScheduleRunner
from batchyard.events.targets import JOB_QUEUE, Deliverer, Deliverers, kind_of
from batchyard.events.transform import InvalidInput, check_path, check_transformer
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store

T = TypeVar("T")
DEFAULT_LIMIT = 100
# EventBridge's quota of replays at a time per account and region.
MAX_ACTIVE_REPLAYS = 10
# TestEventPattern only accepts events that carry the envelope EventBridge always sets.
_ENVELOPE_FIELDS = ("id", "account", "source", "time", "region", "detail-type")


def invalid(message: str) -> ServiceError:
    """AWS's ValidationException."""
    return ServiceError("ValidationException", message)


def invalid_pattern(error: InvalidEventPattern) -> ServiceError:
    """AWS's InvalidEventPatternException for ``error``."""
    return ServiceError("InvalidEventPatternException", error.message)


_pager = Pager(lambda _token: invalid("The NextToken provided is invalid."))
_tag_rules = TagRules(too_many=invalid, invalid=invalid)


def _after(listing: str, token: str | None) -> str | None:
    """The name a listing's ``token`` resumes after."""
    position = _pager.decode(listing, token)
    if position is not None and not isinstance(position, str):
        raise invalid("The NextToken provided is invalid.")
    return position


def _check_endpoint(endpoint: str) -> None:
    # Deliveries are HTTP(S) requests; AWS takes HTTPS only, a local server takes both.
    if not endpoint.startswith(("https://", "http://")):
        raise invalid(
            f"Parameter InvocationEndpoint is not valid. Reason: {endpoint} is not an HTTP "
            "or HTTPS URL."
        )


def _destination_result(destination: ApiDestination) -> ApiDestinationResult:
    return ApiDestinationResult(
        destination.api_destination_arn, destination.api_destination_state,
        destination.creation_time, destination.last_modified_time,
    )


def _check_pattern(pattern: str) -> None:
    try:
        compile_pattern(pattern)
    except InvalidEventPattern as error:
        raise invalid_pattern(error) from None


class EventBridge:
    """The EventBridge service of one server."""

    def __init__(
        self, store: Store, time_scale: float = 1.0, private_destinations: bool = False
    ) -> None:
        """``private_destinations``: whether API destinations may reach loopback and private
        addresses."""
        self._store = store
        self._time_scale = time_scale
        self._catalog = RuleCatalog()
        self._deliverers = Deliverers()
        self._dispatcher: Dispatcher | None = None
        self._scheduler: ScheduleRunner | None = None
        self._replayer: Replayer | None = None
        self._http = ApiDestinationTarget(store, private_destinations)
        self._deliverers.register(API_DESTINATION, self._http)

    def register_target(self, kind: str, deliverer: Deliverer) -> None:
        """Deliver events to targets whose ARN is of ``kind`` (``batch:job-queue`` ...) with
        ``deliverer``; PutTargets accepts the kinds registered before it is called."""
        self._deliverers.register(kind, deliverer)

    async def start(self) -> None:
        """Load the buses, rules and archives, then start delivering, scheduling and the
        replays a previous process left unfinished."""
        self._catalog.load(
            await self._store.read(records.all_rules),
            await self._store.read(records.custom_buses),
            await self._store.read(archive_records.all_archives),
        )
        self._dispatcher = Dispatcher(
            self._store, self._catalog, self._deliverers, self._time_scale
        )
        self._scheduler = ScheduleRunner(self._catalog, self._dispatcher, self._time_scale)
        self._scheduler.start()
        self._replayer = Replayer(self._store, self._catalog, self._dispatcher)
        await self._replayer.resume()
        for owner, name in await self._store.read(connection_records.authorizing):
            self._authorize_later(owner, name)

    async def stop(self) -> None:
        """Stop scheduling, replaying and delivering."""
        if self._scheduler is not None:
            await self._scheduler.stop()
        if self._replayer is not None:
            await self._replayer.stop()
        if self._dispatcher is not None:
            await self._dispatcher.close()
        await self._http.close()

    async def settled(self) -> None:
        """Return once every replay and delivery started so far has ended (or given up)."""
        if self._replayer is not None:
            await self._replayer.settled()
        await self._running.settled()

    @property
    def _running(self) -> Dispatcher:
        if self._dispatcher is None:
            raise RuntimeError("EventBridge has not been started")
        return self._dispatcher

    async def _by_name(
        self,
        listing: str,
        token: str | None,
        limit: int | None,
        read: Callable[[Connection, str | None, int], list[T]],
        name: Callable[[T], str],
    ) -> tuple[list[T], str | None]:
        """A page of a listing in name order: ``read(conn, after, size)`` reads up to
        ``size`` items after the name ``after``."""
        size = limit or DEFAULT_LIMIT
        after = _after(listing, token)
        found = await self._store.read(lambda conn: read(conn, after, size + 1))
        return _pager.keyed_page(listing, [(name(item), item) for item in found], size)

    # -- buses ---------------------------------------------------------------------------
    def _bus(self, caller: Caller, name_or_arn: str | None) -> str:
        """The bus a request names (by name or ARN); ResourceNotFoundException unless the
        caller has it."""
        name = name_or_arn or DEFAULT_BUS
        if arns.is_arn(name):
            parsed = arns.parse(name, "events")
            name = name.rsplit("event-bus/", 1)[-1]
            if parsed is None or parsed.resource_type != "event-bus" or not caller.owns(
                str(parsed)
            ):
                raise records.bus_not_found(name)
        if not self._catalog.has_bus(bus_key(caller, name)):
            raise records.bus_not_found(name)
        return name

    def _default_bus(self, caller: Caller) -> EventBus:
        return EventBus(DEFAULT_BUS, caller.arn("events", f"event-bus/{DEFAULT_BUS}"))

    async def create_event_bus(
        self,
        caller: Caller,
        name: str,
        *,
        event_source_name: str | None = None,
        description: str | None = None,
        kms_key_identifier: str | None = None,
        dead_letter_config: JsonObject | None = None,
        log_config: JsonObject | None = None,
        tags: dict[str, str] | None = None,
    ) -> CreateEventBusResult:
        """Create a custom bus (partner buses need partner event sources, which this server
        has none of)."""
        if event_source_name is not None:
            raise ServiceError(
                "ResourceNotFoundException", f"Event source {event_source_name} does not exist."
            )
        if name == DEFAULT_BUS:
            raise ServiceError(
                "ResourceAlreadyExistsException", f"Event bus {name} already exists."
            )
        if "/" in name:
            raise invalid("Event bus name must not contain '/'.")
        now = datetime.now(UTC)
        bus = EventBus(
            name, caller.arn("events", f"event-bus/{name}"), description,
            kms_key_identifier, dead_letter_config, log_config, now, now,
        )
        _tag_rules.check(bus.arn, tags or {})
        await self._store.write(
            partial(records.create_bus, owner=caller, bus=bus, tags=tags or {})
        )
        self._catalog.add_bus(bus_key(caller, name))
        return CreateEventBusResult(
            bus.arn, description, kms_key_identifier, dead_letter_config, log_config
        )

    async def describe_event_bus(self, caller: Caller, name: str | None = None) -> EventBus:
        """One of the caller's buses, the default one when ``name`` is None."""
        bus = self._bus(caller, name)
        found = await self._store.read(partial(records.get_bus, owner=caller, name=bus))
        return found or self._default_bus(caller)

    async def update_event_bus(
        self,
        caller: Caller,
        name: str | None = None,
        *,
        description: str | None = None,
        kms_key_identifier: str | None = None,
        dead_letter_config: JsonObject | None = None,
        log_config: JsonObject | None = None,
    ) -> EventBus:
        """Change what a bus says about itself; members not given keep their values."""
        bus = self._bus(caller, name)

        def write(conn: Connection) -> EventBus:
            found = records.get_bus(conn, caller, bus) or self._default_bus(caller)
            updated = dataclasses.replace(
                found,
                description=found.description if description is None else description,
                kms_key_identifier=kms_key_identifier or found.kms_key_identifier,
                dead_letter_config=dead_letter_config or found.dead_letter_config,
                log_config=log_config or found.log_config,
                last_modified_time=datetime.now(UTC),
            )
            records.save_bus(conn, caller, updated)
            return updated

        return await self._store.write(write)

    async def delete_event_bus(self, caller: Caller, name: str) -> None:
        """Delete a custom bus without rules; a missing one is not an error."""
        if name == DEFAULT_BUS:
            raise invalid("Cannot delete event bus default.")
        await self._store.write(partial(records.delete_bus, owner=caller, name=name))
        self._catalog.remove_bus(bus_key(caller, name))

    async def list_event_buses(
        self,
        caller: Caller,
        name_prefix: str | None = None,
        next_token: str | None = None,
        limit: int | None = None,
    ) -> EventBuses:
        """The caller's buses, the default one among them, in name order, a page at a time."""
        default = self._default_bus(caller)
        page, token = await self._by_name(
            "event-buses", next_token, limit,
            lambda conn, after, size: records.list_buses(
                conn, caller, name_prefix, after, size, default
            ),
            lambda bus: bus.name,
        )
        return EventBuses(page, token)

    # -- rules ---------------------------------------------------------------------------
    async def put_rule(
        self,
        caller: Caller,
        name: str,
        *,
        event_pattern: str | None = None,
        schedule_expression: str | None = None,
        state: RuleState = RuleState.ENABLED,
        description: str | None = None,
        role_arn: str | None = None,
        tags: dict[str, str] | None = None,
        event_bus_name: str | None = None,
    ) -> PutRuleResult:
        """Create or replace a rule with an event pattern or a schedule (or both); a new rule
        gets ``tags``, a replaced one keeps its own."""
        bus = self._bus(caller, event_bus_name)
        if not event_pattern and not schedule_expression:
            raise invalid("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        if event_pattern:
            _check_pattern(event_pattern)
        if schedule_expression:
            try:
                parse_schedule(schedule_expression)
            except InvalidSchedule:
                raise invalid("Parameter ScheduleExpression is not valid.") from None
        rule = Rule(
            name,
            caller.arn("events", f"rule/{name}" if bus == DEFAULT_BUS else f"rule/{bus}/{name}"),
            bus,
            caller.account_id,
            state,
            event_pattern or None,
            schedule_expression or None,
            description or None,
            role_arn or None,
        )
        _tag_rules.check(rule.arn, tags or {})
        stored = await self._store.write(
            partial(records.put_rule, owner=caller, rule=rule, tags=tags or {})
        )
        self._catalog.put(stored)
        return PutRuleResult(rule.arn)

    async def describe_rule(
        self, caller: Caller, name: str, event_bus_name: str | None = None
    ) -> Rule:
        """A rule of the caller's; ResourceNotFoundException when there is none."""
        bus = self._bus(caller, event_bus_name)
        return await self._store.read(
            partial(records.require_rule, owner=caller, bus=bus, name=name)
        )

    async def list_rules(
        self,
        caller: Caller,
        name_prefix: str | None = None,
        next_token: str | None = None,
        limit: int | None = None,
        event_bus_name: str | None = None,
    ) -> Rules:
        """The caller's rules in name order, optionally by name prefix, a page at a time."""
        bus = self._bus(caller, event_bus_name)
        page, token = await self._by_name(
            "rules", next_token, limit,
            lambda conn, after, size: records.list_rules(
                conn, caller, bus, name_prefix, after, size
            ),
            lambda rule: rule.name,
        )
        return Rules(page, token)

    async def delete_rule(
        self, caller: Caller, name: str, event_bus_name: str | None = None
    ) -> None:
        """Delete a rule; refused while it has targets; a missing rule is not an error."""
        bus = self._bus(caller, event_bus_name)
        await self._store.write(partial(records.delete_rule, owner=caller, bus=bus, name=name))
        self._catalog.remove(caller, bus, name)

    async def enable_rule(
        self, caller: Caller, name: str, event_bus_name: str | None = None
    ) -> None:
        """Let a rule match events (or fire on its schedule) again."""
        await self._set_state(caller, name, event_bus_name, RuleState.ENABLED)

    async def disable_rule(
        self, caller: Caller, name: str, event_bus_name: str | None = None
    ) -> None:
        """Stop a rule matching events and firing on its schedule."""
        await self._set_state(caller, name, event_bus_name, RuleState.DISABLED)

    async def _set_state(
        self, caller: Caller, name: str, event_bus_name: str | None, state: RuleState
    ) -> None:
        bus = self._bus(caller, event_bus_name)
        stored = await self._store.write(
            partial(records.set_state, owner=caller, bus=bus, name=name, state=state)
        )
        self._catalog.put(stored)

    async def test_event_pattern(self, caller: Caller, pattern: str, event: str) -> PatternResult:
        """Whether an event (JSON text with EventBridge's envelope) matches a pattern."""
        try:
            compiled = compile_pattern(pattern)
        except InvalidEventPattern as error:
            raise invalid_pattern(error) from None
        try:
            document = json.loads(event)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict) or any(
            name not in document for name in _ENVELOPE_FIELDS
        ):
            raise invalid("Parameter Event is not valid.")
        return PatternResult(matches(compiled, document))

    # -- targets -------------------------------------------------------------------------
    def _refusal(self, target: Target) -> str | None:
        """Raise for a target that fails the request; the reason it is skipped, or None."""
        kind = kind_of(target.arn)
        if kind is None:
            raise invalid(
                f"Parameter {target.arn} is not valid. Reason: Provided Arn is not in correct "
                "format."
            )
        options = (target.input, target.input_path, target.input_transformer)
        if sum(1 for option in options if option is not None) > 1:
            raise invalid(
                "Only one of Input, InputPath, or InputTransformer must be provided "
                f"for target {target.id}."
            )
        if target.input is not None:
            try:
                json.loads(target.input)
            except (ValueError, RecursionError):
                raise invalid(f"Input for target {target.id} is not valid JSON text.") from None
        try:
            if target.input_path is not None:
                check_path(target.input_path)
            if target.input_transformer is not None:
                transformer = target.input_transformer
                check_transformer(
                    transformer.input_paths_map or {}, transformer.input_template
                )
        except InvalidInput as error:
            raise invalid(f"{error} for target {target.id}.") from None
        if kind == JOB_QUEUE and target.batch_parameters is None:
            raise invalid(
                f"Parameter(s) BatchParameters must be specified for target: {target.id}."
            )
        if not self._deliverers.delivers_to(kind):
            return (
                f"Target {target.arn} is not supported: this server delivers to "
                f"{', '.join(self._deliverers.kinds)} targets."
            )
        return None

    async def put_targets(
        self, caller: Caller, rule: str, targets: list[Target], event_bus_name: str | None = None
    ) -> TargetsResult:
        """Add targets to a rule, or update those with the same Id."""
        bus = self._bus(caller, event_bus_name)
        accepted: list[Target] = []
        failed: list[FailedTarget] = []
        for target in targets:
            reason = self._refusal(target)
            if reason is None:
                accepted.append(target)
            else:
                failed.append(FailedTarget(target.id, "ValidationException", reason))
        stored = await self._store.write(
            partial(records.put_targets, owner=caller, bus=bus, rule=rule, added=accepted)
        )
        self._catalog.put(stored)
        return TargetsResult(failed)

    async def remove_targets(
        self, caller: Caller, rule: str, ids: list[str], event_bus_name: str | None = None
    ) -> TargetsResult:
        """Remove targets from a rule by Id."""
        bus = self._bus(caller, event_bus_name)
        stored = await self._store.write(
            partial(records.remove_targets, owner=caller, bus=bus, rule=rule, ids=ids)
        )
        self._catalog.put(stored)
        return TargetsResult()

    async def list_targets_by_rule(
        self,
        caller: Caller,
        rule: str,
        next_token: str | None = None,
        limit: int | None = None,
        event_bus_name: str | None = None,
    ) -> Targets:
        """A rule's targets in the order they were added, a page at a time."""
        bus = self._bus(caller, event_bus_name)

        def read(conn: Connection) -> list[Target]:
            records.require_rule(conn, caller, bus, rule)
            return records.list_targets(conn, caller, bus, rule)

        found = await self._store.read(read)
        page, token = _pager.offset_page("targets", found, next_token, limit or DEFAULT_LIMIT)
        return Targets(page, token)

    async def list_rule_names_by_target(
        self,
        caller: Caller,
        target_arn: str,
        next_token: str | None = None,
        limit: int | None = None,
        event_bus_name: str | None = None,
    ) -> RuleNames:
        """The caller's rules that have a target of ARN ``target_arn``, a page at a time."""
        bus = self._bus(caller, event_bus_name)
        page, token = await self._by_name(
            "rule-names", next_token, limit,
            lambda conn, after, size: records.rule_names_by_target(
                conn, caller, bus, target_arn, after, size
            ),
            lambda name: name,
        )
        return RuleNames(page, token)

    # -- tags ----------------------------------------------------------------------------
    async def tag_resource(self, caller: Caller, arn: str, tags: dict[str, str]) -> None:
        """Add or update tags on a rule or an event bus of the caller's."""

        def write(conn: Connection) -> None:
            records.require_taggable(conn, caller, arn)
            _tag_rules.check(arn, tags, records.TAGS.get(conn, arn))
            records.TAGS.put(conn, arn, tags)

        await self._store.write(write)

    async def untag_resource(self, caller: Caller, arn: str, keys: list[str]) -> None:
        """Remove tags from a rule or an event bus of the caller's by key."""

        def write(conn: Connection) -> None:
            records.require_taggable(conn, caller, arn)
            records.TAGS.remove(conn, arn, keys)

        await self._store.write(write)

    async def list_tags_for_resource(self, caller: Caller, arn: str) -> TagList:
        """The tags of a rule or an event bus of the caller's."""

        def read(conn: Connection) -> dict[str, str]:
            records.require_taggable(conn, caller, arn)
            return records.TAGS.get(conn, arn)

        found = await self._store.read(read)
        return TagList([Tag(key, value) for key, value in found.items()])

    # -- archives ------------------------------------------------------------------------
    def _archive_source(self, caller: Caller, arn: str) -> str:
        """The bus an archive's EventSourceArn names; AWS's errors unless it is the
        caller's."""
        parsed = arns.parse(arn, "events")
        if parsed is None or parsed.resource_type != "event-bus" or not parsed.resource_id:
            raise invalid(
                "Parameter EventSourceArn is not valid. Reason: Provided Arn is not in correct "
                "format."
            )
        if parsed.account == caller.account_id and parsed.region != caller.region:
            raise invalid(
                "Parameter EventSourceArn is not valid. Reason: Creating cross-region archive "
                "is not permitted."
            )
        if not caller.owns(arn) or not self._catalog.has_bus(
            bus_key(caller, parsed.resource_id)
        ):
            raise records.bus_not_found(parsed.resource_id)
        return parsed.resource_id

    async def create_archive(
        self,
        caller: Caller,
        name: str,
        event_source_arn: str,
        *,
        description: str | None = None,
        event_pattern: str | None = None,
        retention_days: int | None = None,
        kms_key_identifier: str | None = None,
    ) -> ArchiveResult:
        """Start keeping the events of a bus (those matching ``event_pattern``)."""
        self._archive_source(caller, event_source_arn)
        if event_pattern:
            _check_pattern(event_pattern)
        archive = Archive(
            name, caller.arn("events", f"archive/{name}"), event_source_arn,
            datetime.now(UTC), description or None, event_pattern or None,
            retention_days or 0, kms_key_identifier,
        )
        stored = await self._store.write(
            partial(archive_records.create_archive, owner=caller, archive=archive)
        )
        self._catalog.put_archive(stored)
        return ArchiveResult(archive.archive_arn, archive.state, archive.creation_time)

    async def describe_archive(self, caller: Caller, name: str) -> Archive:
        """An archive of the caller's, with the number and size of the events it keeps."""
        return await self._store.read(
            partial(archive_records.describe_archive, owner=caller, name=name, now=time.time())
        )

    async def update_archive(
        self,
        caller: Caller,
        name: str,
        *,
        description: str | None = None,
        event_pattern: str | None = None,
        retention_days: int | None = None,
        kms_key_identifier: str | None = None,
    ) -> ArchiveResult:
        """Change an archive; members not given keep their values."""
        if event_pattern:
            _check_pattern(event_pattern)
        given = {
            "Description": description,
            "EventPattern": event_pattern,
            "RetentionDays": retention_days,
            "KmsKeyIdentifier": kms_key_identifier,
        }
        changes = {key: value for key, value in given.items() if value is not None}
        archive, stored = await self._store.write(
            partial(
                archive_records.update_archive, owner=caller, name=name, changes=changes,
                now=time.time(),
            )
        )
        self._catalog.put_archive(stored)
        return ArchiveResult(archive.archive_arn, archive.state, archive.creation_time)

    async def delete_archive(self, caller: Caller, name: str) -> None:
        """Delete an archive and the events it keeps."""
        arn = await self._store.write(
            partial(archive_records.delete_archive, owner=caller, name=name)
        )
        self._catalog.remove_archive(arn)

    async def list_archives(
        self,
        caller: Caller,
        name_prefix: str | None = None,
        event_source_arn: str | None = None,
        state: str | None = None,
        next_token: str | None = None,
        limit: int | None = None,
    ) -> Archives:
        """The caller's archives in name order, filtered, a page at a time."""
        now = time.time()
        page, token = await self._by_name(
            "archives", next_token, limit,
            lambda conn, after, size: archive_records.list_archives(
                conn, caller, name_prefix, event_source_arn, state, after, size, now
            ),
            lambda archive: archive.archive_name,
        )
        return Archives(page, token)

    # -- replays -------------------------------------------------------------------------
    async def start_replay(
        self,
        caller: Caller,
        name: str,
        event_source_arn: str,
        event_start_time: datetime,
        event_end_time: datetime,
        destination: ReplayDestination,
        description: str | None = None,
    ) -> StartReplayResult:
        """Replay the events an archive kept from a time range onto its bus (STARTING now,
        RUNNING and COMPLETED moments later)."""
        if event_end_time <= event_start_time:
            raise invalid(
                "Parameter EventEndTime is not valid. Reason: EventStartTime must be before "
                "EventEndTime."
            )
        archive = self._catalog.archive(event_source_arn) if caller.owns(event_source_arn) else None
        if archive is None:
            archive_name = event_source_arn.rsplit("/", 1)[-1]
            raise invalid(
                f"Parameter EventSourceArn is not valid. Reason: Archive {archive_name} does "
                "not exist."
            )
        parsed = arns.parse(destination.arn, "events")
        if parsed is None or parsed.resource_type != "event-bus" or not parsed.resource_id:
            raise invalid(
                "Parameter Destination.Arn is not valid. Reason: Must contain an event bus ARN."
            )
        target = (parsed.account, parsed.region, parsed.resource_id)
        if target != archive.bus:
            if caller.owns(destination.arn) and self._catalog.has_bus(target):
                raise invalid(
                    "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is "
                    "not permitted."
                )
            raise records.bus_not_found(parsed.resource_id)
        replay = Replay(
            name, caller.arn("events", f"replay/{name}"), event_source_arn, destination,
            event_start_time, event_end_time, datetime.now(UTC), description=description,
        )
        await self._store.write(
            partial(
                archive_records.create_replay, owner=caller, replay=replay,
                quota=MAX_ACTIVE_REPLAYS,
            )
        )
        self._active_replays.start(caller, name)
        return StartReplayResult(replay.replay_arn, replay.state, replay.replay_start_time)

    async def describe_replay(self, caller: Caller, name: str) -> Replay:
        """A replay of the caller's: its state and how far it has got."""
        return await self._store.read(
            partial(archive_records.get_replay, owner=caller, name=name)
        )

    async def cancel_replay(self, caller: Caller, name: str) -> CancelReplayResult:
        """Ask a STARTING or RUNNING replay to stop (CANCELLING, then CANCELLED)."""

        def write(conn: Connection) -> Replay:
            replay = archive_records.get_replay(conn, caller, name)
            if replay.state not in CANCELLABLE:
                raise ServiceError(
                    "IllegalStatusException",
                    f"Replay {name} is not in a valid state for this operation.",
                )
            cancelling = dataclasses.replace(replay, state=ReplayState.CANCELLING)
            archive_records.save_replay(conn, caller, cancelling)
            return cancelling

        replay = await self._store.write(write)
        return CancelReplayResult(replay.replay_arn, replay.state)

    async def list_replays(
        self,
        caller: Caller,
        name_prefix: str | None = None,
        state: str | None = None,
        event_source_arn: str | None = None,
        next_token: str | None = None,
        limit: int | None = None,
    ) -> Replays:
        """The caller's replays in name order, filtered, a page at a time."""
        page, token = await self._by_name(
            "replays", next_token, limit,
            lambda conn, after, size: archive_records.list_replays(
                conn, caller, name_prefix, state, event_source_arn, after, size
            ),
            lambda replay: replay.replay_name,
        )
        return Replays(page, token)

    @property
    def _active_replays(self) -> Replayer:
        if self._replayer is None:
            raise RuntimeError("EventBridge has not been started")
        return self._replayer

    # -- connections ---------------------------------------------------------------------
    def _checked_auth(self, authorization: AuthorizationType, auth: JsonObject) -> None:
        try:
            check(authorization, auth)
        except InvalidAuth as error:
            raise invalid(f"Parameter AuthParameters is not valid. Reason: {error}.") from None

    def _authorized(
        self, connection: EventsConnection, auth: JsonObject, now: datetime
    ) -> EventsConnection:
        """``connection`` with new credentials: AUTHORIZED at once, or AUTHORIZING until an
        OAuth token is got."""
        oauth = connection.authorization_type == AuthorizationType.OAUTH_CLIENT_CREDENTIALS
        return dataclasses.replace(
            connection,
            connection_state=ConnectionState.AUTHORIZING if oauth else ConnectionState.AUTHORIZED,
            state_reason=None,
            last_authorized_time=connection.last_authorized_time if oauth else now,
            last_modified_time=now,
            auth_parameters=shown(auth),
        )

    async def create_connection(
        self,
        caller: Caller,
        name: str,
        authorization_type: AuthorizationType,
        auth_parameters: JsonObject,
        *,
        description: str | None = None,
        invocation_connectivity_parameters: JsonObject | None = None,
        kms_key_identifier: str | None = None,
    ) -> ConnectionResult:
        """Create a connection holding the credentials of ``authorization_type``."""
        self._checked_auth(authorization_type, auth_parameters)
        now = datetime.now(UTC)
        connection = self._authorized(
            EventsConnection(
                name, caller.arn("events", f"connection/{name}/{uuid.uuid4()}"),
                authorization_type, ConnectionState.CREATING, now, now, description,
                invocation_connectivity_parameters=invocation_connectivity_parameters,
                kms_key_identifier=kms_key_identifier,
            ),
            auth_parameters,
            now,
        )
        await self._store.write(
            partial(
                connection_records.create_connection, owner=caller, connection=connection,
                secret=copy_json(auth_parameters),
            )
        )
        if connection.connection_state == ConnectionState.AUTHORIZING:
            self._authorize_later(caller, name)
        return ConnectionResult.of(connection)

    async def describe_connection(self, caller: Caller, name: str) -> EventsConnection:
        """A connection of the caller's, without its secrets."""
        found = await self._store.read(
            partial(connection_records.credentials, owner=caller, name=name)
        )
        return found.connection

    async def update_connection(
        self,
        caller: Caller,
        name: str,
        *,
        description: str | None = None,
        authorization_type: AuthorizationType | None = None,
        auth_parameters: JsonObject | None = None,
        invocation_connectivity_parameters: JsonObject | None = None,
        kms_key_identifier: str | None = None,
    ) -> ConnectionResult:
        """Change a connection; new credentials (merged into the old ones member by member)
        authorize it again."""

        def write(conn: Connection) -> EventsConnection:
            found = connection_records.credentials(conn, caller, name)
            now = datetime.now(UTC)
            connection = dataclasses.replace(
                found.connection,
                description=found.connection.description if description is None else description,
                invocation_connectivity_parameters=(
                    invocation_connectivity_parameters
                    or found.connection.invocation_connectivity_parameters
                ),
                kms_key_identifier=kms_key_identifier or found.connection.kms_key_identifier,
                last_modified_time=now,
            )
            secret = found.auth
            if authorization_type is not None or auth_parameters is not None:
                kind = authorization_type or connection.authorization_type
                secret = merged(kind, found.auth, auth_parameters)
                self._checked_auth(kind, secret)
                connection = self._authorized(
                    dataclasses.replace(connection, authorization_type=kind), secret, now
                )
            connection_records.save_connection(conn, caller, connection, secret)
            return connection

        connection = await self._store.write(write)
        self._http.forget(connection.connection_arn)
        if connection.connection_state == ConnectionState.AUTHORIZING:
            self._authorize_later(caller, name)
        return ConnectionResult.of(connection)

    async def deauthorize_connection(self, caller: Caller, name: str) -> ConnectionResult:
        """Remove a connection's credentials (DEAUTHORIZING, then DEAUTHORIZED)."""

        def write(conn: Connection) -> EventsConnection:
            found = connection_records.credentials(conn, caller, name).connection
            connection = dataclasses.replace(
                found, connection_state=ConnectionState.DEAUTHORIZED, state_reason=None,
                auth_parameters=None, last_modified_time=datetime.now(UTC),
            )
            connection_records.save_connection(conn, caller, connection, None)
            return connection

        connection = await self._store.write(write)
        self._http.forget(connection.connection_arn)
        return ConnectionResult.of(connection, ConnectionState.DEAUTHORIZING)

    async def delete_connection(self, caller: Caller, name: str) -> ConnectionResult:
        """Delete a connection and its credentials (DELETING, then gone)."""
        connection = await self._store.write(
            partial(connection_records.delete_connection, owner=caller, name=name)
        )
        self._http.forget(connection.connection_arn)
        return ConnectionResult.of(connection, ConnectionState.DELETING)

    async def list_connections(
        self,
        caller: Caller,
        name_prefix: str | None = None,
        connection_state: str | None = None,
        next_token: str | None = None,
        limit: int | None = None,
    ) -> Connections:
        """The caller's connections in name order, filtered, a page at a time."""
        page, token = await self._by_name(
            "connections", next_token, limit,
            lambda conn, after, size: connection_records.list_connections(
                conn, caller, name_prefix, connection_state, after, size
            ),
            lambda connection: connection.name,
        )
        return Connections(page, token)

    def _authorize_later(self, owner: Caller, name: str) -> None:
        self._running.later(partial(self._authorize, owner, name))

    async def _authorize(self, owner: Caller, name: str) -> None:
        """Get an OAuth connection its first token: AUTHORIZED, or DEAUTHORIZED with the
        reason the authorization endpoint gave none."""
        found = await self._store.read(
            partial(connection_records.credentials, owner=owner, name=name)
        )
        if found.connection.connection_state != ConnectionState.AUTHORIZING or not found.auth:
            return
        arn = found.connection.connection_arn
        try:
            await self._http.authorize(arn, found.auth)
            state, reason = ConnectionState.AUTHORIZED, None
        except AuthorizationFailed as error:
            state, reason = ConnectionState.DEAUTHORIZED, str(error)

        def write(conn: Connection) -> None:
            current = connection_records.credentials(conn, owner, name)
            # Changed meanwhile (updated, deauthorized, replaced): that change decides.
            if (
                current.connection.connection_arn != arn
                or current.connection.connection_state != ConnectionState.AUTHORIZING
                or current.auth != found.auth
            ):
                return
            now = datetime.now(UTC)
            connection = dataclasses.replace(
                current.connection, connection_state=state, state_reason=reason,
                last_authorized_time=now if reason is None else None,
            )
            connection_records.save_connection(conn, owner, connection, current.auth)

        try:
            await self._store.write(write)
        except ServiceError:
            return  # deleted meanwhile

    # -- API destinations ----------------------------------------------------------------
    async def create_api_destination(
        self,
        caller: Caller,
        name: str,
        connection_arn: str,
        invocation_endpoint: str,
        http_method: str,
        *,
        description: str | None = None,
        invocation_rate_limit_per_second: int | None = None,
    ) -> ApiDestinationResult:
        """Create an HTTP endpoint that rules can have as a target, through a connection."""
        _check_endpoint(invocation_endpoint)
        now = datetime.now(UTC)
        destination = ApiDestination(
            name, caller.arn("events", f"api-destination/{name}/{uuid.uuid4()}"),
            connection_arn, invocation_endpoint, http_method, now, now,
            invocation_rate_limit_per_second or DEFAULT_RATE_LIMIT, description=description,
        )
        await self._store.write(
            partial(connection_records.create_destination, owner=caller, destination=destination)
        )
        return _destination_result(destination)

    async def describe_api_destination(self, caller: Caller, name: str) -> ApiDestination:
        """An API destination of the caller's."""
        return await self._store.read(
            partial(connection_records.get_destination, owner=caller, name=name)
        )

    async def update_api_destination(
        self,
        caller: Caller,
        name: str,
        *,
        description: str | None = None,
        connection_arn: str | None = None,
        invocation_endpoint: str | None = None,
        http_method: str | None = None,
        invocation_rate_limit_per_second: int | None = None,
    ) -> ApiDestinationResult:
        """Change an API destination; members not given keep their values."""
        if invocation_endpoint is not None:
            _check_endpoint(invocation_endpoint)

        def write(conn: Connection) -> ApiDestination:
            found = connection_records.get_destination(conn, caller, name)
            if connection_arn is not None:
                connection_records.require_connection_arn(conn, caller, connection_arn)
            updated = dataclasses.replace(
                found,
                description=found.description if description is None else description,
                connection_arn=connection_arn or found.connection_arn,
                invocation_endpoint=invocation_endpoint or found.invocation_endpoint,
                http_method=http_method or found.http_method,
                invocation_rate_limit_per_second=(
                    invocation_rate_limit_per_second or found.invocation_rate_limit_per_second
                ),
                last_modified_time=datetime.now(UTC),
            )
            connection_records.save_destination(conn, caller, updated)
            return updated

        return _destination_result(await self._store.write(write))

    async def delete_api_destination(self, caller: Caller, name: str) -> None:
        """Delete an API destination (rules that target it fail to deliver)."""
        await self._store.write(
            partial(connection_records.delete_destination, owner=caller, name=name)
        )

    async def list_api_destinations(
        self,
        caller: Caller,
        name_prefix: str | None = None,
        connection_arn: str | None = None,
        next_token: str | None = None,
        limit: int | None = None,
    ) -> ApiDestinations:
        """The caller's API destinations in name order, filtered, a page at a time."""
        page, token = await self._by_name(
            "api-destinations", next_token, limit,
            lambda conn, after, size: connection_records.list_destinations(
                conn, caller, name_prefix, connection_arn, after, size
            ),
            lambda destination: destination.name,
        )
        return ApiDestinations(page, token)

    # -- events --------------------------------------------------------------------------
    async def put_events(self, caller: Caller, entries: list[PutEventsEntry]) -> PutEventsResult:
        """Put events on the caller's buses; each entry succeeds or fails on its own (the API,
        and Step Functions' ``events:putEvents`` tasks). The events archives keep are
        committed before the answer."""
        dispatcher = self._running
        now = datetime.now(UTC)
        results: list[PutEventsResultEntry] = []
        accepted: list[tuple[BusKey, JsonObject]] = []
        for entry in entries:
            try:
                bus = self._bus(caller, entry.event_bus_name)
                event = put_events_entry(
                    entry, account=caller.account_id, region=caller.region, now=now
                )
            except (ServiceError, EntryError) as error:
                results.append(PutEventsResultEntry(None, error.code, error.message))
                continue
            accepted.append((bus_key(caller, bus), event))
            results.append(PutEventsResultEntry(event["id"]))
        kept = self._archived(accepted)
        if kept:
            await self._store.write(
                partial(archive_records.archive_events, entries=kept, now=time.time())
            )
        for key, event in accepted:
            dispatcher.publish(key, event)
        return PutEventsResult(results)

    def _archived(
        self, events: list[tuple[BusKey, JsonObject]]
    ) -> list[tuple[int, float, JsonObject, int]]:
        """What the archives of the events' buses keep of them: (archive, time, event, size)."""
        kept = []
        for key, event in events:
            for archive in self._catalog.archiving(key, event):
                size = len(json.dumps(event, separators=(",", ":")).encode())
                kept.append((archive.seq, epoch_of(event), event, size))
        return kept

    def listens(self, caller: Caller) -> bool:
        """Whether any enabled rule on the caller's default bus could match an event, or an
        archive keeps its events: a service with nothing to say can skip building them."""
        key = bus_key(caller, DEFAULT_BUS)
        return self._catalog.has_pattern_rules(key) or self._catalog.has_archives(key)

    def publish(self, caller: Caller, event: ServiceEvent) -> None:
        """Put an AWS service's event on the caller's default bus (no checks: AWS sources
        are the server's own); the archives keep it moments later."""
        document: JsonObject = service_event(
            event, account=caller.account_id, region=caller.region, time=datetime.now(UTC)
        )
        key = bus_key(caller, DEFAULT_BUS)
        kept = self._archived([(key, document)])
        if kept:
            write = partial(archive_records.archive_events, entries=kept, now=time.time())
            self._running.later(partial(self._store.write, write))
        self._running.publish(key, document)
