import { createHash } from 'node:crypto';
import type { EventSchema } from './schemas/catalog';
import { exceedsBytes } from './eventSize';
import { fastCheckOf, hasLoneSurrogate } from './compiledCheck';

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
 * Most events are settled by the generated fast path (compiledCheck.ts); the rest get the full check,
 * which finds the exact problem.
 */
export function checkEvent(event: Record<string, unknown>, schema: EventSchema, maxBytes: number): EventProblem | undefined {
  const bound = fastCheckOf(schema)(event);
  if (bound >= 0 && bound <= maxBytes) return undefined;
  return fullCheck(event, schema, maxBytes);
}

function fullCheck(event: Record<string, unknown>, schema: EventSchema, maxBytes: number): EventProblem | undefined {
  let problem: EventProblem | undefined;
  for (const field of schema.fields) {
    const value = event[field.name];
    if (value === undefined || value === null) {
      if (!field.nullable) problem = { field: field.name, reason: `required field "${field.name}" is missing` };
    } else if (!field.accepts(value)) {
      const range = field.valueType === 'float' && typeof value === 'number' ? ' (outside the 32-bit float range)' : '';
      problem = { field: field.name, reason: `field "${field.name}": expected ${typeName(field.valueType)}, got ${describe(value)}${range}` };
    } else if (typeof value === 'string' ? !value.isWellFormed() : typeof value === 'object' && hasLoneSurrogate(value)) {
      // Avro strings are UTF-8; avsc would write a lone surrogate as invalid UTF-8 (ED A0 80), unreadable by strict readers.
      problem = { field: field.name, reason: `field "${field.name}": string is not valid Unicode (lone UTF-16 surrogate), cannot be written as UTF-8` };
    }
    if (problem) break;
  }
  // An oversize event is reported as oversize whatever else is wrong with it.
  if (exceedsBytes(event, maxBytes)) return oversize(maxBytes);
  return problem;
}

function oversize(maxBytes: number): EventProblem {
  return { field: 'event', reason: `event is larger than ${maxBytes} bytes: dropped (Braze drops events over 900 KB)`, oversize: true };
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
