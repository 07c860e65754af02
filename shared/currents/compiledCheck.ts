import type { EventSchema, FieldSpec } from './schemas/catalog';
import { upperBound } from './eventSize';

/**
 * The hot path of event validation, generated per event type (as avsc generates its writers): a
 * straight line of property loads with constant names, so each load site sees only that type's
 * object shapes, and the primitive checks inline. It answers one question — "certainly writable, and
 * how large at most as JSON?" — with the bound (≥ 0), or -1 for anything unusual (a missing or
 * mistyped field, a lone surrogate, a member outside the schema and `event_type`), which sends the
 * event to the full check in eventRecord.ts for the exact answer and the error message.
 *
 * The bound follows eventSize.ts: 6 bytes per UTF-16 unit of strings and keys, 24 per other scalar.
 */
export type FastCheck = (event: Record<string, unknown>) => number;

const compiled = new WeakMap<EventSchema, FastCheck>();

export function fastCheckOf(schema: EventSchema): FastCheck {
  let check = compiled.get(schema);
  if (!check) {
    check = compile(schema.fields);
    compiled.set(schema, check);
  }
  return check;
}

/** `"key":` plus a comma: the member's bound without its value. */
const keyBound = (name: string) => name.length * 6 + 4;

function valueTest(field: FieldSpec, index: number): { ok: string; size: string } {
  switch (field.valueType) {
    case 'string':
      return { ok: `typeof v === 'string' && v.isWellFormed()`, size: `v.length * 6 + 2` };
    case 'int':
      return { ok: `typeof v === 'number' && (v | 0) === v`, size: '24' };
    case 'long':
      return { ok: `Number.isSafeInteger(v)`, size: '24' };
    case 'double':
      return { ok: `typeof v === 'number'`, size: '24' };
    case 'float':
      return { ok: `typeof v === 'number' && Number.isFinite(Math.fround(v))`, size: '24' };
    case 'boolean':
      return { ok: `typeof v === 'boolean'`, size: '24' };
    default:
      // Arrays and maps: the catalog's own test, then no lone surrogate anywhere inside.
      return { ok: `fields[${index}].accepts(v) && !hasLoneSurrogate(v)`, size: 'upperBound(v)' };
  }
}

function compile(fields: readonly FieldSpec[]): FastCheck {
  const lines = ['let b = 2, m = 0, v;'];
  fields.forEach((field, i) => {
    const { ok, size } = valueTest(field, i);
    const k = keyBound(field.name);
    const absent = field.nullable ? '' : 'return -1;';
    lines.push(
      `v = e[${JSON.stringify(field.name)}];`,
      `if (v === undefined) { ${absent} } else { m++; if (v === null) { ${absent} b += ${k + 24}; } else if (${ok}) { b += ${k} + ${size}; } else return -1; }`,
    );
  });
  lines.push(
    `v = e.event_type;`,
    `if (v !== undefined) { m++; b += ${keyBound('event_type')} + (typeof v === 'string' ? v.length * 6 + 2 : upperBound(v)); }`,
    // Any other member (a newer version's field, a typo) counts towards the size: the full check walks it.
    `let keys = 0; for (const key in e) keys++;`,
    `return keys === m ? b : -1;`,
  );
  const factory = new Function('fields', 'upperBound', 'hasLoneSurrogate', `return function fastCheck(e) {\n${lines.join('\n')}\n};`);
  return factory(fields, upperBound, hasLoneSurrogate) as FastCheck;
}

/** A lone UTF-16 surrogate cannot be encoded as UTF-8 (String.prototype.isWellFormed is native and fast). */
export function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return !value.isWellFormed();
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (typeof value === 'object' && value !== null) return Object.entries(value).some(([k, v]) => !k.isWellFormed() || hasLoneSurrogate(v));
  return false;
}
