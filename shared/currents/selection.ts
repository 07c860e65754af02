import { EVENT_GROUPS } from './schemas/catalog';
import type { SchemaCatalog } from './schemas/catalog';

/** The event types an integration receives: explicit types, whole groups, or "*", limited to its Currents version. */
export function selectedEventTypes(integration: { eventTypes: string[] }, catalog: SchemaCatalog, version: number): Set<string> {
  const out = new Set<string>();
  for (const schema of catalog.availableIn(version)) {
    const wanted = integration.eventTypes.some(
      (sel) => sel === '*' || sel === schema.eventType || ((EVENT_GROUPS as readonly string[]).includes(sel) && sel === schema.group),
    );
    if (wanted) out.add(schema.eventType);
  }
  return out;
}
