import type { ContainerClient } from '@azure/storage-blob';
import { classifyStorageError } from './errors';

/**
 * Exactly-once files without overwrites.
 *
 * A file is written create-only and carries, in its metadata, the offsets (Service Bus sequence
 * numbers) of the messages whose events it holds. A message's events for one file series are fixed by
 * the message itself, so "this blob covers offset N" proves those events are delivered. When a create
 * meets an existing blob (409), we read its coverage and write only the messages it does not cover —
 * a 409 is never assumed to mean "done". When any message was delivered before, we first read the
 * coverage of the series' existing files, so a batch recomposed on redelivery writes no duplicates.
 */
export interface Unit<T> {
  offset: bigint;
  items: T[];
}

export interface WrittenFile {
  name: string;
  bytes: number;
  items: number;
  offsets: bigint[];
}

export interface CoveredWriteResult {
  files: WrittenFile[];
  /** Units found already written by an earlier attempt (redelivery): not written again. */
  alreadyPresentUnits: number;
  alreadyPresentItems: number;
  /** Offsets proven in storage (written now or found there), kept current while writing: after a failure, what is already delivered. */
  delivered: Set<bigint>;
}

export function emptyCoveredWriteResult(): CoveredWriteResult {
  return { files: [], alreadyPresentUnits: 0, alreadyPresentItems: 0, delivered: new Set() };
}

export interface CoveredWriteRequest<T> {
  container: ContainerClient;
  /** Sorted by offset, offsets unique. */
  units: Unit<T>[];
  nameFor(firstOffset: bigint): string;
  /** `release`, when given, is called once the body is no longer read (its upload settled). */
  encode(name: string, items: T[]): { body: Buffer; contentType: string; release?: () => void };
  maxItemsPerFile: number;
  /** Set when a message may have been processed before: existing files of the series are read first. */
  priorAttempt?: { dirPrefix: string; isSameSeries(blobName: string): boolean };
  signal?: AbortSignal;
  /** Filled in as the write goes (also when it throws); the result returned on success. */
  progress?: CoveredWriteResult;
}

export const COVERAGE_KEY = 'currentsoffsets';
/** Blob metadata is limited to 8 KiB in all; keep one value well inside it. */
const MAX_COVERAGE_CHARS = 3500;

export class UnprovableConflictError extends Error {
  constructor(readonly blobName: string) {
    super(`blob ${blobName} already exists and its metadata does not prove which events it holds; events kept, not overwritten`);
  }
}

export function encodeOffsets(offsets: bigint[]): string {
  const inOrder = offsets.every((o, i) => i === 0 || offsets[i - 1] <= o);
  const sorted = inOrder ? offsets : [...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  let start = sorted[0];
  let prev = sorted[0];
  for (let i = 1; i <= sorted.length; i++) {
    const cur = sorted[i];
    if (cur !== undefined && cur === prev + 1n) {
      prev = cur;
      continue;
    }
    parts.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = cur;
    prev = cur;
  }
  return parts.join(',');
}

export function decodeOffsets(text: string | undefined): Set<bigint> | undefined {
  if (!text || !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(text)) return undefined;
  const out = new Set<bigint>();
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map((x) => BigInt(x));
    for (let o = a; o <= (b ?? a); o++) out.add(o);
  }
  return out;
}

/** Decimal digits of a non-negative offset (< 2^53), without making a string per unit. */
function digits(offset: bigint): number {
  let x = Number(offset);
  let d = 1;
  while (x >= 10) {
    x = Math.floor(x / 10);
    d++;
  }
  return d;
}

/**
 * Greedy, deterministic split into files: by item count and by coverage-metadata size.
 * The coverage text length is tracked incrementally (units are sorted), so this stays linear.
 */
export function chunkUnits<T>(units: Unit<T>[], maxItems: number): Unit<T>[][] {
  // Common case: even written out one by one, the offsets fit the metadata; split by count alone.
  if (units.length === 0 || units.length * (digits(units[units.length - 1].offset) + 1) <= MAX_COVERAGE_CHARS) return chunkByItems(units, maxItems);
  const chunks: Unit<T>[][] = [];
  let current: Unit<T>[] = [];
  let items = 0;
  let chars = 0;
  let rangeStart = 0n;
  let rangeEnd = -1n;
  const rangeChars = (a: bigint, b: bigint) => (a === b ? digits(a) : digits(a) + 1 + digits(b));
  for (const unit of units) {
    const extends_ = current.length > 0 && unit.offset === rangeEnd + 1n;
    const nextChars = current.length === 0 ? rangeChars(unit.offset, unit.offset)
      : extends_ ? chars - rangeChars(rangeStart, rangeEnd) + rangeChars(rangeStart, unit.offset)
      : chars + 1 + rangeChars(unit.offset, unit.offset);
    if (current.length > 0 && (items + unit.items.length > maxItems || nextChars > MAX_COVERAGE_CHARS)) {
      chunks.push(current);
      current = [];
      items = 0;
    }
    if (current.length === 0) {
      chars = rangeChars(unit.offset, unit.offset);
      rangeStart = unit.offset;
    } else if (extends_) {
      chars = nextChars;
    } else {
      chars = nextChars;
      rangeStart = unit.offset;
    }
    rangeEnd = unit.offset;
    current.push(unit);
    items += unit.items.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function chunkByItems<T>(units: Unit<T>[], maxItems: number): Unit<T>[][] {
  const chunks: Unit<T>[][] = [];
  let current: Unit<T>[] = [];
  let items = 0;
  for (const unit of units) {
    if (current.length > 0 && items + unit.items.length > maxItems) {
      chunks.push(current);
      current = [];
      items = 0;
    }
    current.push(unit);
    items += unit.items.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export async function existingCoverage(container: ContainerClient, prior: NonNullable<CoveredWriteRequest<unknown>['priorAttempt']>): Promise<Set<bigint>> {
  const covered = new Set<bigint>();
  for await (const blob of container.listBlobsFlat({ prefix: prior.dirPrefix, includeMetadata: true })) {
    if (!prior.isSameSeries(blob.name)) continue;
    for (const o of decodeOffsets(blob.metadata?.[COVERAGE_KEY]) ?? []) covered.add(o);
  }
  return covered;
}

/** The units' items in order (a plain loop: flatMap is several times slower on a file's worth). */
function itemsOf<T>(units: Unit<T>[]): T[] {
  let n = 0;
  for (const u of units) n += u.items.length;
  const out = new Array<T>(n);
  let i = 0;
  for (const u of units) for (const item of u.items) out[i++] = item;
  return out;
}

export async function writeCovered<T>(req: CoveredWriteRequest<T>): Promise<CoveredWriteResult> {
  const result = req.progress ?? emptyCoveredWriteResult();
  let units = req.units;
  const skip = (dropped: Unit<T>[]) => {
    result.alreadyPresentUnits += dropped.length;
    result.alreadyPresentItems += dropped.reduce((n, u) => n + u.items.length, 0);
    for (const u of dropped) result.delivered.add(u.offset);
  };
  if (req.priorAttempt) {
    const covered = await existingCoverage(req.container, req.priorAttempt);
    skip(units.filter((u) => covered.has(u.offset)));
    units = units.filter((u) => !covered.has(u.offset));
  }
  for (const chunk of chunkUnits(units, req.maxItemsPerFile)) {
    let pending = chunk;
    while (pending.length > 0) {
      const name = req.nameFor(pending[0].offset);
      const offsets = pending.map((u) => u.offset);
      const items = itemsOf(pending);
      const { body, contentType, release } = req.encode(name, items);
      try {
        await req.container.getBlockBlobClient(name).upload(body, body.length, {
          conditions: { ifNoneMatch: '*' },
          metadata: { [COVERAGE_KEY]: encodeOffsets(offsets), currentsitems: String(items.length) },
          blobHTTPHeaders: { blobContentType: contentType },
          abortSignal: req.signal,
        });
        result.files.push({ name, bytes: body.length, items: items.length, offsets });
        for (const o of offsets) result.delivered.add(o);
        pending = [];
      } catch (err) {
        if (classifyStorageError(err) !== 'conflict') throw err;
        const props = await req.container.getBlockBlobClient(name).getProperties({ abortSignal: req.signal });
        const covered = decodeOffsets(props.metadata?.[COVERAGE_KEY]);
        if (!covered || !covered.has(pending[0].offset)) throw new UnprovableConflictError(name);
        skip(pending.filter((u) => covered.has(u.offset)));
        pending = pending.filter((u) => !covered.has(u.offset));
      } finally {
        release?.();
      }
    }
  }
  return result;
}
