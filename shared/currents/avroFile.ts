import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import avro from 'avsc';

/**
 * Avro object container files, framed here (records are encoded by avsc) for two reasons:
 * Braze's files carry only `avro.schema` in the header (avsc's BlockEncoder always adds `avro.codec`),
 * and the sync marker must be derived from the blob name so that every retry writes the same bytes.
 */
export type Codec = 'null' | 'deflate';

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1
const metadataType = avro.Type.forSchema({ type: 'map', values: 'bytes' });
const longType = avro.Type.forSchema('long');
const DEFAULT_BLOCK_BYTES = 256 * 1024;
/**
 * One scratch buffer for every file this process encodes (encoding is synchronous, so files never
 * share it at the same time; each block is copied out before the buffer is reused). A fresh 512 KiB
 * buffer per file made small files several times slower to encode (allocation and the GC pressure
 * V8 charges for external memory), see docs/benchmarks.md.
 */
let sharedScratch = Buffer.allocUnsafe(DEFAULT_BLOCK_BYTES * 2);
const MAX_KEPT_SCRATCH = 16 * 1024 * 1024;

export function syncMarkerFor(blobName: string): Buffer {
  return createHash('sha256').update(blobName).digest().subarray(0, 16);
}

export interface ContainerFileInput {
  schemaJson: string;
  type: avro.Type;
  codec: Codec;
  syncMarker: Buffer;
  records: Iterable<unknown>;
  /** Uncompressed bytes per data block before it is closed. */
  blockBytes?: number;
  /** Memory for the finished file (e.g. from a BufferPool); a fresh Buffer by default. */
  allocate?: (size: number) => Buffer;
}

export interface ContainerFile {
  bytes: Buffer;
  records: number;
}

export function encodeContainerFile(input: ContainerFileInput): ContainerFile {
  const blockBytes = input.blockBytes ?? DEFAULT_BLOCK_BYTES;
  const meta: Record<string, Buffer> = { 'avro.schema': Buffer.from(input.schemaJson) };
  if (input.codec !== 'null') meta['avro.codec'] = Buffer.from(input.codec);
  const header = metadataType.toBuffer(meta);

  // Every record of the file is encoded into one process-wide scratch buffer (no Buffer per record,
  // no buffer per file); blocks are cut every `blockBytes`. The file is then assembled with a single
  // allocation of its exact size: one copy of the data, nothing else left to collect.
  let scratch = sharedScratch;
  let pos = 0;
  let total = 0;
  const blocks: { start: number; end: number; count: number; data?: Buffer }[] = [];
  let blockStart = 0;
  let inBlock = 0;
  const closeBlock = () => {
    if (inBlock === 0) return;
    blocks.push({ start: blockStart, end: pos, count: inBlock, data: input.codec === 'deflate' ? deflateRawSync(scratch.subarray(blockStart, pos)) : undefined });
    blockStart = pos;
    inBlock = 0;
  };
  for (const record of input.records) {
    let next = input.type.encode(record, scratch, pos);
    while (next < 0) {
      // avsc returns minus the bytes the record ran past the end: grow and retry it.
      const grown = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - next + blockBytes));
      scratch.copy(grown, 0, 0, pos);
      scratch = sharedScratch = grown;
      next = input.type.encode(record, scratch, pos);
    }
    pos = next;
    inBlock += 1;
    total += 1;
    if (pos - blockStart >= blockBytes) closeBlock();
  }
  closeBlock();

  const counts = blocks.map((b) => longType.toBuffer(b.count));
  const sizes = blocks.map((b) => longType.toBuffer(b.data ? b.data.length : b.end - b.start));
  let length = MAGIC.length + header.length + input.syncMarker.length;
  for (let i = 0; i < blocks.length; i++) length += counts[i].length + sizes[i].length + (blocks[i].data?.length ?? blocks[i].end - blocks[i].start) + input.syncMarker.length;
  const bytes = input.allocate ? input.allocate(length) : Buffer.allocUnsafe(length);
  let at = MAGIC.copy(bytes, 0);
  at += header.copy(bytes, at);
  at += input.syncMarker.copy(bytes, at);
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    at += counts[i].copy(bytes, at);
    at += sizes[i].copy(bytes, at);
    at += b.data ? b.data.copy(bytes, at) : scratch.copy(bytes, at, b.start, b.end);
    at += input.syncMarker.copy(bytes, at);
  }
  // Do not keep a huge scratch buffer after an unusually large file.
  if (sharedScratch.length > MAX_KEPT_SCRATCH) sharedScratch = Buffer.allocUnsafe(DEFAULT_BLOCK_BYTES * 2);
  return { bytes, records: total };
}
