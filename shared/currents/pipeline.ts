import type { Integration } from '../integrations/integration';
import type { IntegrationSource } from '../integrations/registry';
import type { Destinations } from '../storage/destinations';
import { classifyStorageError, storageErrorCode, StorageWriteError } from '../storage/errors';
import { emptyCoveredWriteResult, writeCovered, UnprovableConflictError, type CoveredWriteResult, type Unit } from '../storage/coveredWrite';
import type { Log, Telemetry } from '../telemetry/telemetry';
import { redactSecrets } from '../secrets/redact';
import { SecretNotFoundError } from '../secrets/secretSource';
import { mapLimit } from '../util/mapLimit';
import { BufferPool } from '../util/bufferPool';
import { encodeContainerFile, syncMarkerFor } from './avroFile';
import { currentsBlobName, connectorName, hourLabel, startOfHour } from './naming';
import { checkEvent, transformRecord, withNulls } from './eventRecord';
import { parseBody, partitionOf, offsetOf, queuedTimeOf, type QueueMessage } from './queueMessage';
import type { QuarantineEntry, QuarantineSink } from './quarantine';
import type { ParkedEvent, ParkingSink } from './parking';
import type { EventSchema, SchemaCatalog } from './schemas/catalog';
import { selectedEventTypes } from './selection';

export interface CurrentsSettings {
  CURRENTS_CLUSTER: string;
  CURRENTS_ENVIRONMENT: string;
  CURRENTS_VERSION: number;
  MAX_EVENTS_PER_FILE: number;
  MAX_EVENT_BYTES: number;
  DESTINATION_CONCURRENCY: number;
}

export interface CurrentsDeps {
  catalog: SchemaCatalog;
  integrations: IntegrationSource;
  destinations: Pick<Destinations, 'resolve' | 'refresh'>;
  quarantine: QuarantineSink;
  parking: ParkingSink;
  settings: CurrentsSettings;
  telemetry: Telemetry;
  log: Log;
}

export interface BatchReport {
  messages: number;
  events: number;
  written: { files: number; events: number; bytes: number; names: string[] };
  /** Events found already written by an earlier delivery of the same messages. */
  alreadyWritten: number;
  quarantined: { messages: number; events: number };
  skippedNotSelected: number;
  skippedDisabled: number;
  droppedOversize: number;
  parked: { events: number; reasons: Record<string, number> };
  /** Groups that hit a transient failure: the batch is thrown back to be delivered again. */
  retryableFailures: string[];
}

/** Thrown after everything else in the batch was delivered, so Service Bus redelivers it. */
export class RetryableBatchError extends Error {
  constructor(readonly failures: string[]) {
    super(`batch must be retried: ${failures.length} group(s) hit transient storage failures: ${failures.slice(0, 5).join(' | ')}`);
  }
}

/** A routed message: what a bad event's quarantine entry names. */
interface MessageSource {
  message: QueueMessage;
  integrationId: string;
  events: readonly unknown[];
  /** Event → index in `events`, built on the message's first bad event (a bad message stays linear). */
  positions?: Map<unknown, number>;
}

/** One message's events of one group. */
interface MessageUnit extends Unit<Record<string, unknown>> {
  source: MessageSource;
}

interface Group {
  integration: Integration;
  integrationInvalid?: string;
  schema: EventSchema;
  queuedHour: Date;
  partition: number;
  /** Routed but not yet checked until `checkGroup`: validation runs per group, overlapping other groups' uploads. */
  units: MessageUnit[];
  priorAttempt: boolean;
}

/** A batch's groups: by (integration, queued hour, partition), then by event type. */
type Groups = Map<string, Map<string, Group>>;

/** Problems found in a batch, per message; written to quarantine once every group is done. */
type Problems = Map<QueueMessage, QuarantineEntry[]>;


/** File bodies: their memory is reused once their upload settles (see BufferPool). */
const filePool = new BufferPool({ maxKeptBytes: 32 * 1024 * 1024 });

function emptyReport(messages: number): BatchReport {
  return {
    messages,
    events: 0,
    written: { files: 0, events: 0, bytes: 0, names: [] },
    alreadyWritten: 0,
    quarantined: { messages: 0, events: 0 },
    skippedNotSelected: 0,
    skippedDisabled: 0,
    droppedOversize: 0,
    parked: { events: 0, reasons: {} },
    retryableFailures: [],
  };
}

/**
 * One Service Bus batch → Avro files in customers' containers.
 * Validates every event (bad ones quarantined with message, index, field and reason; the rest flow),
 * groups by (integration, event type, queued hour, partition), writes each group exactly once, and
 * parks what a broken destination cannot take. Throws RetryableBatchError only for transient
 * failures, after every other group was written.
 */
export async function processCurrentsBatch(messages: QueueMessage[], deps: CurrentsDeps): Promise<BatchReport> {
  const report = emptyReport(messages.length);
  const groups: Groups = new Map();
  const problems: Problems = new Map();

  // Routing only (cheap, serial). Field checks run per group in deliverGroup, so on a machine with
  // cores to spare they overlap the uploads of the groups before them instead of delaying them all.
  for (const message of messages) {
    const base = { messageId: message.messageId, sequenceNumber: message.sequenceNumber.toString() };
    const parsed = parseBody(message.body);
    if (!parsed.ok) {
      problemsOf(problems, message).push({ ...base, field: parsed.field, reason: parsed.reason, payload: bodyPreview(message.body) });
      continue;
    }
    report.events += parsed.events.length;
    const lookup = await deps.integrations.get(parsed.integrationId);
    if (lookup.kind === 'missing') {
      problemsOf(problems, message).push({ ...base, integrationId: parsed.integrationId, field: 'integrationId', reason: `unknown integration id ${parsed.integrationId}`, payload: parsed.events });
      report.quarantined.events += parsed.events.length;
    } else {
      const integration = lookup.kind === 'found' ? lookup.integration : undefined;
      const invalid = lookup.kind === 'invalid' ? lookup.error.message : undefined;
      routeEvents(message, parsed.integrationId, parsed.events, integration, invalid, deps, report, groups, problems);
    }
  }

  await mapLimit([...groups.values()].flatMap((byType) => [...byType.values()]), deps.settings.DESTINATION_CONCURRENCY, (group) => deliverGroup(group, deps, report, problems));
  await writeQuarantine(problems, deps, report);

  publish(report, deps.telemetry);
  if (report.retryableFailures.length > 0) throw new RetryableBatchError(report.retryableFailures);
  return report;
}

function problemsOf(problems: Problems, message: QueueMessage): QuarantineEntry[] {
  let list = problems.get(message);
  if (!list) {
    list = [];
    problems.set(message, list);
  }
  return list;
}

/**
 * One blob per message with problems. Entries sorted by event index (message-level ones first), so a
 * redelivered message gives the same content — the quarantine blob's name is a hash of it.
 * Quarantine failures (our own storage) are transient by nature: retry the batch.
 */
async function writeQuarantine(problems: Problems, deps: CurrentsDeps, report: BatchReport): Promise<void> {
  report.quarantined.messages += problems.size;
  await mapLimit([...problems], deps.settings.DESTINATION_CONCURRENCY, async ([message, entries]) => {
    entries.sort((a, b) => (a.eventIndex ?? -1) - (b.eventIndex ?? -1));
    const at = { day: hourLabel(queuedTimeOf(message)).slice(0, 10), partition: partitionOf(message.sequenceNumber), offset: offsetOf(message.sequenceNumber) };
    try {
      await deps.quarantine.record(entries, at);
    } catch (err) {
      report.retryableFailures.push(`quarantine: ${describeError(err)}`);
    }
  });
}

function quarantineEvent(problems: Problems, report: BatchReport, source: MessageSource, eventIndex: number, event: unknown, field: string, reason: string, eventType?: string): void {
  const eventId = typeof (event as { id?: unknown })?.id === 'string' ? (event as { id: string }).id : undefined;
  const { message, integrationId } = source;
  problemsOf(problems, message).push({ messageId: message.messageId, sequenceNumber: message.sequenceNumber.toString(), integrationId, eventIndex, eventId, eventType, field, reason, payload: event });
  report.quarantined.events += 1;
}

function routeEvents(
  message: QueueMessage,
  integrationId: string,
  events: unknown[],
  integration: Integration | undefined,
  integrationInvalid: string | undefined,
  deps: CurrentsDeps,
  report: BatchReport,
  groups: Groups,
  problems: Problems,
): void {
  const version = integration?.currentsVersion ?? deps.settings.CURRENTS_VERSION;
  const selected = integration ? selectionOf(integration, deps.catalog, version) : undefined;
  const queuedHour = startOfHour(queuedTimeOf(message));
  const partition = partitionOf(message.sequenceNumber);
  const offset = offsetOf(message.sequenceNumber);
  // The groups this message can feed, by event type: one string key per message, not per event.
  const seriesKey = `${integrationId}|${queuedHour.getTime()}|${partition}`;
  let groupsByType = groups.get(seriesKey);
  if (!groupsByType) {
    groupsByType = new Map();
    groups.set(seriesKey, groupsByType);
  }
  const source: MessageSource = { message, integrationId, events };
  const quarantine = (eventIndex: number, event: unknown, field: string, reason: string, eventType?: string) =>
    quarantineEvent(problems, report, source, eventIndex, event, field, reason, eventType);

  for (let eventIndex = 0; eventIndex < events.length; eventIndex++) {
    const event = events[eventIndex];
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      quarantine(eventIndex, event, 'events[]', 'event must be a JSON object');
      continue;
    }
    const eventType = (event as { event_type?: unknown }).event_type;
    if (typeof eventType !== 'string') {
      quarantine(eventIndex, event, 'event_type', 'event_type must be a string naming a Currents event type');
      continue;
    }
    const schema = deps.catalog.get(eventType);
    if (!schema || schema.since > version) {
      quarantine(eventIndex, event, 'event_type', `unknown event type "${eventType}" for Currents version ${version}`, eventType);
      continue;
    }
    if (integration?.status === 'disabled') {
      report.skippedDisabled += 1;
      continue;
    }
    if (selected && !selected.has(eventType)) {
      report.skippedNotSelected += 1;
      continue;
    }
    let group = groupsByType.get(eventType);
    if (!group) {
      const owner = integration ?? placeholderIntegration(integrationId);
      group = { integration: owner, integrationInvalid, schema, queuedHour, partition, units: [], priorAttempt: false };
      groupsByType.set(eventType, group);
    }
    // Messages are routed one after another, so this message's unit in a group, if any, is its last.
    let unit = group.units[group.units.length - 1];
    if (unit?.source !== source) {
      unit = { offset, items: [], source };
      group.units.push(unit);
      group.priorAttempt ||= message.deliveryCount > 1;
    }
    unit.items.push(event as Record<string, unknown>);
  }
}

/**
 * Field checks of a group's events (size bound, then schema): bad events go to quarantine naming
 * message, index and field; units left with no events are dropped.
 */
function checkGroup(group: Group, deps: CurrentsDeps, report: BatchReport, problems: Problems): void {
  const maxBytes = deps.settings.MAX_EVENT_BYTES;
  const { schema } = group;
  const eventType = schema.eventType;
  let emptied = false;
  for (const unit of group.units) {
    const items = unit.items;
    let kept = 0;
    for (let i = 0; i < items.length; i++) {
      const event = items[i];
      const problem = checkEvent(event, schema, maxBytes);
      if (problem) {
        if (problem.oversize) {
          report.droppedOversize += 1;
          report.quarantined.events -= 1; // counted as dropped, reported through quarantine
        }
        quarantineEvent(problems, report, unit.source, positionOf(unit.source, event), event, problem.field, problem.reason, eventType);
        continue;
      }
      items[kept++] = event;
    }
    if (kept < items.length) {
      items.length = kept;
      emptied ||= kept === 0;
    }
  }
  if (emptied) group.units = group.units.filter((u) => u.items.length > 0);
}

/** The selected event types, computed once per integration settings object (the registry caches it). */
const selections = new WeakMap<Integration, { version: number; types: Set<string> }>();
function selectionOf(integration: Integration, catalog: SchemaCatalog, version: number): Set<string> {
  const hit = selections.get(integration);
  if (hit && hit.version === version) return hit.types;
  const types = selectedEventTypes(integration, catalog, version);
  selections.set(integration, { version, types });
  return types;
}

/** Events of an integration whose settings are invalid still need an owner to be parked under. */
function placeholderIntegration(id: string): Integration {
  return { id, name: id, contactEmail: 'unknown@invalid', connectionStringSecret: 'unknown', container: 'unknown', prefix: 'currents', eventTypes: ['*'], codec: 'null', transformations: [], status: 'active' };
}

async function deliverGroup(group: Group, deps: CurrentsDeps, report: BatchReport, problems: Problems): Promise<void> {
  checkGroup(group, deps, report, problems);
  if (group.units.length === 0) return;
  // Batches usually arrive in sequence order, but a redelivered mix need not: files want sorted offsets.
  if (!sortedByOffset(group.units)) group.units.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  const events = group.units.reduce((n, u) => n + u.items.length, 0);
  const label = `${group.integration.id}/${group.schema.eventType}/${hourLabel(group.queuedHour)}`;
  if (group.integrationInvalid) return park(group, `integration settings invalid: ${group.integrationInvalid}`, deps, report);
  if (group.priorAttempt && deps.parking.parkedOffsets) {
    // Events an earlier delivery parked stay parked (the resume moves them); writing them now as well
    // would deliver them twice.
    let parked: Set<bigint>;
    try {
      parked = await deps.parking.parkedOffsets({ integrationId: group.integration.id, eventType: group.schema.eventType, queuedHour: group.queuedHour, partition: group.partition });
    } catch (err) {
      report.retryableFailures.push(`reading parked events of ${label}: ${describeError(err)}`);
      return;
    }
    const already = group.units.filter((u) => parked.has(u.offset));
    if (already.length > 0) {
      const n = already.reduce((k, u) => k + u.items.length, 0);
      report.parked.events += n;
      report.parked.reasons['already-parked'] = (report.parked.reasons['already-parked'] ?? 0) + n;
      group.units = group.units.filter((u) => !parked.has(u.offset));
      if (group.units.length === 0) return;
    }
  }
  const progress = emptyCoveredWriteResult();
  try {
    await writeGroup(group, deps, progress);
  } catch (err) {
    const failure = failureOf(err);
    if (failure === 'transient') {
      deps.log.warn(`transient failure writing ${events} events for ${label}: ${describeError(err)}`);
      report.retryableFailures.push(`${label}: ${describeError(err)}`);
      return;
    }
    // Park only what is not already in the customer's container (a group can fail after some of its files).
    const remaining = group.units.filter((u) => !progress.delivered.has(u.offset));
    if (remaining.length > 0) await park({ ...group, units: remaining }, `${failure}: ${describeError(err)}`, deps, report);
  } finally {
    // Files written before a failure count too (they are delivered; a redelivery finds them already written).
    for (const f of progress.files) {
      report.written.files += 1;
      report.written.events += f.items;
      report.written.bytes += f.bytes;
      report.written.names.push(f.name);
    }
    report.alreadyWritten += progress.alreadyPresentItems;
  }
}

function positionOf(source: MessageSource, event: unknown): number {
  if (!source.positions) {
    source.positions = new Map();
    source.events.forEach((e, i) => source.positions!.has(e) || source.positions!.set(e, i));
  }
  return source.positions.get(event) ?? -1;
}

function sortedByOffset(units: readonly MessageUnit[]): boolean {
  for (let i = 1; i < units.length; i++) if (units[i - 1].offset > units[i].offset) return false;
  return true;
}

function failureOf(err: unknown): string {
  if (err instanceof UnprovableConflictError) return 'name-conflict';
  if (err instanceof SecretNotFoundError) return 'secret-missing';
  if (err instanceof StorageWriteError) return err.failure;
  return classifyStorageError(err);
}

async function writeGroup(group: Group, deps: CurrentsDeps, progress: CoveredWriteResult): Promise<void> {
  const { integration, schema, settings } = { integration: group.integration, schema: group.schema, settings: deps.settings };
  const parts = {
    prefix: integration.prefix,
    cluster: integration.cluster ?? settings.CURRENTS_CLUSTER,
    environment: integration.environment ?? settings.CURRENTS_ENVIRONMENT,
    version: integration.currentsVersion ?? settings.CURRENTS_VERSION,
    integrationId: integration.id,
    eventType: schema.eventType,
    queuedHour: group.queuedHour,
    partition: group.partition,
  };
  const nameFor = (offset: bigint) => currentsBlobName({ ...parts, offset });
  const sample = nameFor(0n);
  const dirPrefix = sample.slice(0, sample.lastIndexOf('/') + 1);
  const series = `${connectorName(parts.cluster, integration.id)}+${group.partition}+`;
  const transformations = integration.transformations.filter((t) => schema.fields.some((f) => f.name === t.field));

  const attempt = async (destination: { container: import('@azure/storage-blob').ContainerClient }) =>
    writeCovered({
      container: destination.container,
      units: group.units,
      maxItemsPerFile: settings.MAX_EVENTS_PER_FILE,
      nameFor,
      encode: (name, records) => {
        const body = encodeContainerFile({
          schemaJson: schema.schemaJson,
          type: schema.type,
          codec: integration.codec,
          syncMarker: syncMarkerFor(name),
          records: transformations.length ? records.map((r) => transformRecord(r, transformations)) : records,
          allocate: (size) => filePool.acquire(size),
        }).bytes;
        return { body, contentType: 'avro/binary', release: () => filePool.release(body) };
      },
      priorAttempt: group.priorAttempt ? { dirPrefix, isSameSeries: (n) => n.slice(dirPrefix.length).startsWith(series) } : undefined,
      progress,
    });

  let destination = await deps.destinations.resolve(integration);
  try {
    await attempt(destination);
  } catch (err) {
    if (failureOf(err) !== 'auth') throw err;
    // A rotated connection string: re-read the secret once before the failure counts.
    const refreshed = await deps.destinations.refresh(integration, destination.secretVersion);
    if (refreshed.secretVersion === destination.secretVersion) throw err;
    deps.log.info(`integration ${integration.id}: connection string rotated to version ${refreshed.secretVersion}; retrying`);
    destination = refreshed;
    // The same progress: units the first attempt delivered are found again (409 + coverage) or skipped.
    await attempt(destination);
  }
}

async function park(group: Group, reason: string, deps: CurrentsDeps, report: BatchReport): Promise<void> {
  const category = reason.slice(0, reason.indexOf(':'));
  try {
    const units: Unit<ParkedEvent>[] = group.units.map((u) => ({ offset: u.offset, items: u.items.map((record) => ({ event_type: group.schema.eventType, record: withNulls(record, group.schema) })) }));
    const parked = await deps.parking.park({
      integrationId: group.integration.id,
      eventType: group.schema.eventType,
      queuedHour: group.queuedHour,
      partition: group.partition,
      units,
      reason,
      priorAttempt: group.priorAttempt,
    });
    report.parked.events += parked.events;
    report.parked.reasons[category] = (report.parked.reasons[category] ?? 0) + parked.events;
    deps.log.warn(`integration ${group.integration.id}: parked ${parked.events} ${group.schema.eventType} events (${reason})`);
    deps.telemetry.event('CurrentsEventsParked', { integrationId: group.integration.id, eventType: group.schema.eventType, reason: category, events: String(parked.events) });
  } catch (err) {
    report.retryableFailures.push(`parking ${group.integration.id}/${group.schema.eventType}: ${describeError(err)}`);
  }
}

function describeError(err: unknown): string {
  const code = storageErrorCode(err);
  const status = (err as { statusCode?: number })?.statusCode;
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return redactSecrets([status, code, message].filter((x) => x !== undefined).join(' '));
}

function bodyPreview(body: unknown): unknown {
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  return body;
}

function publish(report: BatchReport, telemetry: Telemetry): void {
  telemetry.count('currents.messages', report.messages);
  telemetry.count('currents.events.received', report.events);
  telemetry.count('currents.files.written', report.written.files);
  telemetry.count('currents.events.written', report.written.events);
  telemetry.count('currents.bytes.written', report.written.bytes);
  telemetry.count('currents.events.already_written', report.alreadyWritten);
  telemetry.count('currents.events.quarantined', report.quarantined.events);
  telemetry.count('currents.events.skipped_not_selected', report.skippedNotSelected);
  telemetry.count('currents.events.skipped_disabled', report.skippedDisabled);
  telemetry.count('currents.events.dropped_oversize', report.droppedOversize);
  telemetry.count('currents.events.parked', report.parked.events);
}
