import avro from 'avsc';
import table from './currents-events.json';

/** Braze's three Currents event groups; an integration selects groups and/or single types. */
export const EVENT_GROUPS = ['message_engagement', 'customer_behavior', 'user_profile'] as const;
export type EventGroup = (typeof EVENT_GROUPS)[number];

export interface FieldSpec {
  name: string;
  /** Avro type of the value: 'string', 'int', … or {type:'array', items:…}. */
  valueType: avro.Schema;
  nullable: boolean;
  /** Whether a (non-null) value can be written as this field's type: validates one field with a precise error. */
  accepts: (value: unknown) => boolean;
}

export interface EventSchema {
  eventType: string;
  group: EventGroup;
  /** First Currents version that has this event type. */
  since: number;
  fields: FieldSpec[];
  /** The Avro schema as written into each file's `avro.schema` header. */
  schemaJson: string;
  type: avro.Type;
}

interface TableRow {
  eventType: string;
  group: string;
  since: number;
  fields: string[];
}

const PRIMITIVES = new Set(['string', 'int', 'long', 'float', 'double', 'boolean', 'bytes']);

/** `name:type` is required, `name:type?` nullable; type is a primitive, `array<T>` or `map<T>`. */
export function parseFieldSpec(spec: string): FieldSpec {
  const match = /^([A-Za-z_][A-Za-z0-9_]*):([a-z<>]+)(\?)?$/.exec(spec);
  if (!match) throw new Error(`bad field spec "${spec}"`);
  const [, name, typeText, optional] = match;
  const valueType = parseValueType(typeText, spec);
  return { name, valueType, nullable: optional === '?', accepts: acceptsFor(valueType) };
}

/**
 * The hot path checks every field of every event: primitives get a plain typeof test with avsc's own
 * rules (int: 32-bit integer; long: safe integer), containers fall back to avsc's isValid.
 */
function acceptsFor(valueType: avro.Schema): (value: unknown) => boolean {
  switch (valueType) {
    case 'string':
      return (v) => typeof v === 'string';
    case 'int':
      return (v) => typeof v === 'number' && (v | 0) === v;
    case 'long':
      return (v) => typeof v === 'number' && Number.isSafeInteger(v);
    case 'double':
      return (v) => typeof v === 'number';
    case 'float':
      // avsc writes any number as float32: out of range would silently become Infinity.
      return (v) => typeof v === 'number' && Number.isFinite(Math.fround(v));
    case 'boolean':
      return (v) => typeof v === 'boolean';
    default: {
      const type = avro.Type.forSchema(valueType);
      return (v) => type.isValid(v);
    }
  }
}

function parseValueType(text: string, spec: string): avro.Schema {
  if (PRIMITIVES.has(text)) return text;
  const container = /^(array|map)<([a-z]+)>$/.exec(text);
  if (container && PRIMITIVES.has(container[2])) {
    return container[1] === 'array' ? { type: 'array', items: container[2] } : { type: 'map', values: container[2] };
  }
  throw new Error(`bad type in field spec "${spec}"`);
}

/** Record name = last component of the event type; namespace = dataexport.AzureBlob.inner.<the rest>. */
export function avroSchemaFor(eventType: string, fields: FieldSpec[]): object {
  const parts = eventType.split('.');
  return {
    type: 'record',
    name: parts[parts.length - 1],
    namespace: ['dataexport', 'AzureBlob', 'inner', ...parts.slice(0, -1)].join('.'),
    fields: fields.map((f) =>
      f.nullable ? { name: f.name, type: ['null', f.valueType], default: null } : { name: f.name, type: f.valueType },
    ),
  };
}

export class SchemaCatalog {
  private readonly byType: Map<string, EventSchema>;

  constructor(rows: readonly TableRow[]) {
    this.byType = new Map();
    for (const row of rows) {
      if (!(EVENT_GROUPS as readonly string[]).includes(row.group)) {
        throw new Error(`event type ${row.eventType}: unknown group ${row.group}`);
      }
      const fields = row.fields.map(parseFieldSpec);
      const schema = avroSchemaFor(row.eventType, fields);
      this.byType.set(row.eventType, {
        eventType: row.eventType,
        group: row.group as EventGroup,
        since: row.since,
        fields,
        schemaJson: JSON.stringify(schema),
        type: avro.Type.forSchema(schema as avro.Schema),
      });
    }
  }

  get(eventType: string): EventSchema | undefined {
    return this.byType.get(eventType);
  }

  all(): EventSchema[] {
    return [...this.byType.values()];
  }

  /** Event types available to an integration on the given Currents version. */
  availableIn(version: number): EventSchema[] {
    return this.all().filter((s) => s.since <= version);
  }
}

let shared: SchemaCatalog | undefined;

/** The catalog built from the shipped table; built on first use, never at import time. */
export function currentsCatalog(): SchemaCatalog {
  shared ??= new SchemaCatalog(table.eventTypes as TableRow[]);
  return shared;
}
