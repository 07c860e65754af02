import { createHash } from 'node:crypto';
import type { EventSchema } from './schemas/catalog';

/** Why one event cannot be written, naming the field. */
export interface EventProblem {
  field: string;
  reason: string;
}

export type EventCheck = { ok: true; record: Record<string, unknown> } | ({ ok: false } & EventProblem);

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
 * Checks one event against its schema and makes it writable: missing nullable fields become null.
 * The event object itself is the record (avsc writes the schema's fields and ignores the rest, such as
 * `event_type` or fields of a newer Currents version), so no copy is made per event; it is changed only
 * once every field has passed, so a quarantined event is kept exactly as it was sent.
 */
export function toRecord(event: Record<string, unknown>, schema: EventSchema): EventCheck {
  for (const field of schema.fields) {
    const value = event[field.name];
    if (value === undefined || value === null) {
      if (!field.nullable) return { ok: false, field: field.name, reason: `required field "${field.name}" is missing` };
      continue;
    }
    if (!field.accepts(value)) {
      const range = field.valueType === 'float' && typeof value === 'number' ? ' (outside the 32-bit float range)' : '';
      return { ok: false, field: field.name, reason: `field "${field.name}": expected ${typeName(field.valueType)}, got ${describe(value)}${range}` };
    }
    // Avro strings are UTF-8; avsc would write a lone surrogate as invalid UTF-8 (ED A0 80), unreadable by strict readers.
    if (typeof value === 'string' ? !value.isWellFormed() : typeof value === 'object' && hasLoneSurrogate(value)) {
      return { ok: false, field: field.name, reason: `field "${field.name}": string is not valid Unicode (lone UTF-16 surrogate), cannot be written as UTF-8` };
    }
  }
  // Missing nullable fields need no null written into the event: avsc writes a field that is undefined
  // as its default, and every nullable field's default is null.
  return { ok: true, record: event };
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
