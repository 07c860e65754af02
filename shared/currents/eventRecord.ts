import { createHash } from 'node:crypto';
import type { EventSchema } from './schemas/catalog';
import { exceedsBytes, memberBound, upperBound } from './eventSize';

/** Why one event cannot be written, naming the field. */
export interface EventProblem {
  field: string;
  reason: string;
  /** Over the size limit: dropped (and reported), as Braze drops events over 900 KB. */
  oversize?: boolean;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number') return `number ${value}`;
  return typeof value;
}

/** A lone UTF-16 surrogate cannot be encoded as UTF-8 (String.prototype.isWellFormed is native and fast). */
function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return !value.isWellFormed();
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (typeof value === 'object' && value !== null) return Object.entries(value).some(([k, v]) => !k.isWellFormed() || hasLoneSurrogate(v));
  return false;
}

function typeName(schema: unknown): string {
  return typeof schema === 'string' ? schema : JSON.stringify(schema);
}

/**
 * Checks one event against its schema and the size limit; undefined when it can be written as it is.
 * The event object itself is the record (avsc writes the schema's fields and ignores the rest, such as
 * `event_type` or fields of a newer Currents version; a missing nullable field is undefined, which avsc
 * writes as its default, null), so nothing is copied or allocated per valid event, and a quarantined
 * event is kept exactly as it was sent.
 *
 * The size rule rides on the same pass: a bound on the JSON size of the schema fields, plus
 * `event_type`; only an event with other members (or a bound over the limit) is walked in full.
 */
export function checkEvent(event: Record<string, unknown>, schema: EventSchema, maxBytes: number): EventProblem | undefined {
  let bound = 2;
  let members = 0;
  for (const field of schema.fields) {
    const value = event[field.name];
    if (value === undefined) {
      if (!field.nullable) return sizeFirst(event, maxBytes, { field: field.name, reason: `required field "${field.name}" is missing` });
      continue;
    }
    members += 1;
    bound += memberBound(field.name, value);
    if (value === null) {
      if (!field.nullable) return sizeFirst(event, maxBytes, { field: field.name, reason: `required field "${field.name}" is missing` });
      continue;
    }
    if (!field.accepts(value)) {
      const range = field.valueType === 'float' && typeof value === 'number' ? ' (outside the 32-bit float range)' : '';
      return sizeFirst(event, maxBytes, { field: field.name, reason: `field "${field.name}": expected ${typeName(field.valueType)}, got ${describe(value)}${range}` });
    }
    // Avro strings are UTF-8; avsc would write a lone surrogate as invalid UTF-8 (ED A0 80), unreadable by strict readers.
    if (typeof value === 'string' ? !value.isWellFormed() : typeof value === 'object' && hasLoneSurrogate(value)) {
      return sizeFirst(event, maxBytes, { field: field.name, reason: `field "${field.name}": string is not valid Unicode (lone UTF-16 surrogate), cannot be written as UTF-8` });
    }
  }
  const eventType = event.event_type;
  if (eventType !== undefined) {
    members += 1;
    bound += memberBound('event_type', eventType);
  }
  let keys = 0;
  for (const key in event) if (key !== undefined) keys += 1;
  if (keys !== members) bound = upperBound(event);
  if (bound > maxBytes && exceedsBytes(event, maxBytes)) return oversize(maxBytes);
  return undefined;
}

function oversize(maxBytes: number): EventProblem {
  return { field: 'event', reason: `event is larger than ${maxBytes} bytes: dropped (Braze drops events over 900 KB)`, oversize: true };
}

/** An oversize event is reported as oversize whatever else is wrong with it. */
function sizeFirst(event: Record<string, unknown>, maxBytes: number, problem: EventProblem): EventProblem {
  return exceedsBytes(event, maxBytes) ? oversize(maxBytes) : problem;
}

/** A parked copy of a checked event: every schema field present, missing nullable ones as null. */
export function withNulls(event: Record<string, unknown>, schema: EventSchema): Record<string, unknown> {
  const out = { ...event };
  for (const field of schema.fields) if (out[field.name] === undefined) out[field.name] = null;
  return out;
}

export interface FieldTransformation {
  field: string;
  action: 'remove' | 'hash';
}

/** Braze field transformations: Remove → "[REDACTED]", Hash → SHA-256 hex; string fields only, nulls stay null. */
export function transformRecord(record: Record<string, unknown>, transformations: readonly FieldTransformation[]): Record<string, unknown> {
  if (transformations.length === 0) return record;
  const out = { ...record };
  for (const t of transformations) {
    const value = out[t.field];
    if (typeof value !== 'string') continue;
    out[t.field] = t.action === 'remove' ? '[REDACTED]' : createHash('sha256').update(value).digest('hex');
  }
  return out;
}
