import avro from 'avsc';
import { deflateRawSync } from 'node:zlib';
import type { ContainerClient } from '@azure/storage-blob';
import { encodeContainerFile, syncMarkerFor, type Codec } from '../../shared/currents/avroFile';
import { checkEvent } from '../../shared/currents/eventRecord';
import { currentsBlobName } from '../../shared/currents/naming';
import { chunkUnits, type Unit } from '../../shared/storage/coveredWrite';
import type { EventSchema, SchemaCatalog } from '../../shared/currents/schemas/catalog';
import { mapLimit } from '../../shared/util/mapLimit';
import type { Body } from './input';

/**
 * The ceiling: what the same output costs with nothing but an Avro encoder and a plain upload.
 *
 * The records are built (and validated) once, before timing, exactly as the pipeline would build
 * them, and split into exactly the pipeline's files (one series per event type, units = messages,
 * at most MAX_EVENTS_PER_FILE per file, via the pipeline's own chunkUnits). Each timed repetition
 * then only encodes those files and uploads them with `BlockBlobClient.upload` — no conditions, no
 * metadata — with the pipeline's destination concurrency.
 */
export interface PlannedFile {
  schema: EventSchema;
  /** Index (in the batch) of the first message the file holds: gives its offset and name. */
  firstMessage: number;
  records: Record<string, unknown>[];
}

export function planFiles(bodies: readonly Body[], catalog: SchemaCatalog, maxEventsPerFile: number): PlannedFile[] {
  const byType = new Map<string, { schema: EventSchema; units: Unit<Record<string, unknown>>[] }>();
  bodies.forEach((body, messageIndex) => {
    for (const event of body.events) {
      const schema = catalog.get(event.event_type as string)!;
      // Copied, so each file's records sit together in memory: the encoder's most favourable layout.
      const record = { ...event };
      const problem = checkEvent(record, schema, Number.MAX_SAFE_INTEGER);
      if (problem) throw new Error(`bench input is invalid: ${problem.reason}`);
      let series = byType.get(schema.eventType);
      if (!series) byType.set(schema.eventType, (series = { schema, units: [] }));
      const last = series.units[series.units.length - 1];
      if (last && last.offset === BigInt(messageIndex)) last.items.push(record);
      else series.units.push({ offset: BigInt(messageIndex), items: [record] });
    }
  });
  const files: PlannedFile[] = [];
  for (const { schema, units } of byType.values()) {
    for (const chunk of chunkUnits(units, maxEventsPerFile)) {
      files.push({ schema, firstMessage: Number(chunk[0].offset), records: chunk.flatMap((u) => u.items) });
    }
  }
  return files;
}

/** Names for one repetition: Braze-shaped (same length as the pipeline's) under a `ceiling` prefix. */
export function namesFor(files: readonly PlannedFile[], firstSequence: bigint): string[] {
  const queuedHour = new Date('2026-01-15T10:00:00Z');
  return files.map((f) =>
    currentsBlobName({
      prefix: 'ceiling',
      cluster: 'prod-01',
      environment: 'us-01',
      integrationId: '000000000000000000000000',
      eventType: f.schema.eventType,
      queuedHour,
      version: 10,
      partition: 0,
      offset: firstSequence + BigInt(f.firstMessage),
    }),
  );
}

export type EncoderName = 'encodeContainerFile' | 'avscBlockEncoder' | 'avscToBuffer';
export const ENCODERS: EncoderName[] = ['encodeContainerFile', 'avscBlockEncoder', 'avscToBuffer'];
export const ENCODER_DESCRIPTIONS: Record<EncoderName, string> = {
  encodeContainerFile: "shared/currents/avroFile.ts: the pipeline's framing over avsc Type.encode into a reused scratch buffer",
  avscBlockEncoder: "avsc's own container-file writer (streams.BlockEncoder, 256 KiB blocks, avsc's default codecs: deflate = async zlib.deflateRaw)",
  avscToBuffer: 'avsc Type.toBuffer per record, blocks concatenated and framed by hand (deflateRawSync per block)',
};

const BLOCK_BYTES = 256 * 1024;
const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);
const metadataType = avro.Type.forSchema({ type: 'map', values: 'bytes' });
const longType = avro.Type.forSchema('long');

function toBufferContainerFile(file: PlannedFile, codec: Codec, syncMarker: Buffer): Buffer {
  const meta: Record<string, Buffer> = { 'avro.schema': Buffer.from(file.schema.schemaJson) };
  if (codec !== 'null') meta['avro.codec'] = Buffer.from(codec);
  const chunks: Buffer[] = [MAGIC, metadataType.toBuffer(meta), syncMarker];
  let block: Buffer[] = [];
  let blockLength = 0;
  const flush = () => {
    if (block.length === 0) return;
    const raw = Buffer.concat(block, blockLength);
    const data = codec === 'deflate' ? deflateRawSync(raw) : raw;
    chunks.push(longType.toBuffer(block.length), longType.toBuffer(data.length), data, syncMarker);
    block = [];
    blockLength = 0;
  };
  for (const record of file.records) {
    const b = file.schema.type.toBuffer(record);
    block.push(b);
    blockLength += b.length;
    if (blockLength >= BLOCK_BYTES) flush();
  }
  flush();
  return Buffer.concat(chunks);
}

function blockEncoderContainerFile(file: PlannedFile, codec: Codec, syncMarker: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const encoder = new avro.streams.BlockEncoder(file.schema.type, { codec, syncMarker, blockSize: BLOCK_BYTES });
    const chunks: Buffer[] = [];
    encoder.on('data', (c: Buffer) => chunks.push(c));
    encoder.on('end', () => resolve(Buffer.concat(chunks)));
    encoder.on('error', reject);
    for (const r of file.records) encoder.write(r);
    encoder.end();
  });
}

export async function encodeWith(encoder: EncoderName, file: PlannedFile, codec: Codec, name: string): Promise<Buffer> {
  const syncMarker = syncMarkerFor(name);
  switch (encoder) {
    case 'encodeContainerFile':
      return encodeContainerFile({ schemaJson: file.schema.schemaJson, type: file.schema.type, codec, syncMarker, records: file.records }).bytes;
    case 'avscToBuffer':
      return toBufferContainerFile(file, codec, syncMarker);
    case 'avscBlockEncoder':
      return blockEncoderContainerFile(file, codec, syncMarker);
  }
}

/** Encode only, one file after another. Returns the encoded bytes. */
export async function encodeAll(encoder: EncoderName, files: readonly PlannedFile[], codec: Codec, names: readonly string[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < files.length; i++) out.push(await encodeWith(encoder, files[i], codec, names[i]));
  return out;
}

/** Upload only: the given bytes, plain create-or-replace uploads, `concurrency` in flight. */
export async function uploadAll(container: ContainerClient, names: readonly string[], bodies: readonly Buffer[], concurrency: number): Promise<number> {
  await mapLimit(names, concurrency, (name, i) => container.getBlockBlobClient(name).upload(bodies[i], bodies[i].length));
  return bodies.reduce((n, b) => n + b.length, 0);
}

/** The ceiling proper: encode a file then upload it, per file, `concurrency` files in flight (the pipeline's shape). */
export async function encodeAndUpload(
  encoder: EncoderName,
  container: ContainerClient,
  files: readonly PlannedFile[],
  names: readonly string[],
  codec: Codec,
  concurrency: number,
): Promise<number> {
  const sizes = await mapLimit(files, concurrency, async (file, i) => {
    const body = await encodeWith(encoder, file, codec, names[i]);
    await container.getBlockBlobClient(names[i]).upload(body, body.length);
    return body.length;
  });
  return sizes.reduce((a, b) => a + b, 0);
}
