import { randomBytes, randomUUID } from 'node:crypto';
import type { EventSchema, FieldSpec } from '../currents/schemas/catalog';

/**
 * Realistic events of any Currents type, made from the schema: values follow field names
 * (ids, emails, platforms, times…) and types; nullable fields are present most of the time.
 * Used by the local producer, the tests and the benchmarks.
 */
const PLATFORMS = ['ios', 'android', 'web', 'kindle', 'android_china'];
const TIMEZONES = ['America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'UTC'];
const COUNTRIES = ['US', 'DE', 'JP', 'BR', 'IN'];

let counter = 0;
const salt = randomBytes(4).readUInt32BE(0);
/** Cheap, varied 24-hex ids (Braze ids are 24-hex); event ids stay random UUIDs. */
const hexId = (i: number, field: string) => {
  const h = (Math.imul(i ^ salt, 2654435761) ^ field.length * 40503) >>> 0;
  return (h.toString(16).padStart(8, '0') + (i >>> 0).toString(16).padStart(16, '0')).slice(0, 24);
};

function stringValue(name: string, i: number): string {
  if (name === 'id' || name.endsWith('dispatch_id') || name === 'send_id') return randomUUID();
  if (name.endsWith('_id')) return hexId(i, name);
  if (name.includes('email')) return `user${i}@example.com`;
  if (name === 'platform') return PLATFORMS[i % PLATFORMS.length];
  if (name === 'timezone') return TIMEZONES[i % TIMEZONES.length];
  if (name.includes('country')) return COUNTRIES[i % COUNTRIES.length];
  if (name.includes('phone') || name === 'to_phone_number' || name === 'from_phone_number') return `+1555${String(1000000 + (i % 8999999))}`;
  if (name.includes('url') || name === 'link') return `https://example.com/l/${i}`;
  if (name.includes('ip')) return `203.0.113.${i % 255}`;
  if (name.includes('name')) return `${name.replace(/_/g, ' ')} ${i % 50}`;
  if (name === 'properties' || name.endsWith('_properties')) return JSON.stringify({ plan: 'gold', items: i % 7 });
  if (name.includes('version')) return `${1 + (i % 5)}.${i % 10}.0`;
  if (name.includes('device_model') || name === 'device_model') return 'iPhone15,2';
  if (name.includes('os_version')) return 'iOS 18.1';
  if (name === 'currency') return 'USD';
  return `${name}-${i % 1000}`;
}

function primitiveValue(type: string, name: string, i: number, nowMs: number): unknown {
  switch (type) {
    case 'string':
      return stringValue(name, i);
    case 'int':
      return name === 'time' || name.endsWith('_time') || name.endsWith('_at') ? Math.floor(nowMs / 1000) : i % 1000;
    case 'long':
      return name.endsWith('_ms') ? nowMs : name === 'time' || name.endsWith('_time') ? Math.floor(nowMs / 1000) : i;
    case 'float':
    case 'double':
      return name.includes('lat') ? 40.7128 : name.includes('lon') ? -74.006 : Math.round((i % 10000) * 1.37) / 100;
    case 'boolean':
      return i % 2 === 0;
    case 'bytes':
      return Buffer.from([i & 255, (i >> 8) & 255]);
    default:
      return null;
  }
}

function fieldValue(field: FieldSpec, i: number, nowMs: number): unknown {
  const t = field.valueType;
  if (typeof t === 'string') return primitiveValue(t, field.name, i, nowMs);
  const complex = t as { type: string; items?: string; values?: string };
  if (complex.type === 'array') return [primitiveValue(String(complex.items), field.name, i, nowMs), primitiveValue(String(complex.items), field.name, i + 1, nowMs)];
  if (complex.type === 'map') return { key: primitiveValue(String(complex.values), field.name, i, nowMs) };
  return null;
}

/** One demo event (with `event_type`, as the message contract wants). */
export function demoEvent(schema: EventSchema, nowMs = Date.now()): Record<string, unknown> {
  const i = counter++;
  const event: Record<string, unknown> = { event_type: schema.eventType };
  for (const field of schema.fields) {
    if (field.nullable && i % 5 === 4) continue; // leave some nullable fields out, as real events do
    event[field.name] = fieldValue(field, i, nowMs);
  }
  return event;
}
