import { z } from 'zod';
import { EVENT_GROUPS } from '../currents/schemas/catalog';

/**
 * One customer's Current: where its files go and what they contain.
 * Stored as a JSON document in the app's own storage (see registry.ts); validated on every read.
 */
export const INTEGRATION_ID = /^[0-9a-f]{24}$/;

/** Azure container naming rules: 3–63 chars, lowercase letters, digits, single hyphens. */
const containerName = z
  .string()
  .regex(/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/, 'must be a valid Azure container name (3–63 lowercase letters, digits, single hyphens)');

/** A blob-path prefix: safe segments only (no traversal, no control characters, no empty segments). */
export const blobPrefix = z
  .string()
  .min(1)
  .max(200)
  .refine((p) => p.split('/').every((seg) => /^[A-Za-z0-9._=-]+$/.test(seg) && !seg.endsWith('.')), {
    message: 'must be "/"-separated segments of letters, digits, ".", "_", "=", "-" (no "..", no empty segment, no segment ending with ".")',
  });

const transformation = z.object({
  field: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an event field name'),
  action: z.enum(['remove', 'hash']),
});

export const integrationSchema = z.object({
  id: z.string().regex(INTEGRATION_ID, 'must be a 24-character lowercase hex id'),
  name: z.string().min(1).max(200),
  contactEmail: z.email(),
  /** Key Vault secret holding the customer's storage connection string (never the string itself). */
  connectionStringSecret: z.string().regex(/^[0-9A-Za-z-]{1,127}$/, 'must be a Key Vault secret name'),
  container: containerName,
  prefix: blobPrefix.default('currents'),
  /** Groups (message_engagement, customer_behavior, user_profile) and/or single event types; "*" = all. */
  eventTypes: z.array(z.string().min(1)).min(1),
  codec: z.enum(['null', 'deflate']).default('null'),
  transformations: z.array(transformation).default([]),
  cluster: z.string().regex(/^[a-z0-9-]{1,40}$/).optional(),
  environment: z.string().regex(/^[a-z0-9-]{1,40}$/).optional(),
  currentsVersion: z.number().int().positive().optional(),
  status: z.enum(['active', 'disabled']).default('active'),
});

export type Integration = z.infer<typeof integrationSchema>;
export type IntegrationInput = z.input<typeof integrationSchema>;

export class InvalidIntegrationError extends Error {
  constructor(
    readonly integrationId: string,
    readonly problems: string[],
  ) {
    super(`integration ${integrationId} is invalid: ${problems.join('; ')}`);
  }
}

/**
 * Validates shape, then the parts that need the schema catalog: selected types/groups exist and
 * transformed fields are string fields of at least one event type.
 */
export function parseIntegration(
  raw: unknown,
  catalog: { get(eventType: string): { fields: { name: string; valueType: unknown }[] } | undefined; all(): { fields: { name: string; valueType: unknown }[] }[] },
): Integration {
  const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : '(no id)';
  const parsed = integrationSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidIntegrationError(id, parsed.error.issues.map((i) => `${i.path.join('.') || 'document'}: ${i.message}`));
  }
  const problems: string[] = [];
  for (const selected of parsed.data.eventTypes) {
    if (selected !== '*' && !(EVENT_GROUPS as readonly string[]).includes(selected) && !catalog.get(selected)) {
      problems.push(`eventTypes: "${selected}" is neither an event group nor a known event type`);
    }
  }
  const stringFields = new Set(catalog.all().flatMap((s) => s.fields.filter((f) => f.valueType === 'string').map((f) => f.name)));
  for (const t of parsed.data.transformations) {
    if (!stringFields.has(t.field)) problems.push(`transformations: "${t.field}" is not a string field of any event type`);
  }
  if (problems.length > 0) throw new InvalidIntegrationError(id, problems);
  return parsed.data;
}
