import { PassThrough, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import { crc32, createDeflateRaw, createGzip, deflateRaw as deflateRawCallback, gzip as gzipCallback } from 'node:zlib';
import { ByteBuilder } from './bytes';
import { ZipFile } from 'yazl';
import type { BufferPool } from '../util/bufferPool';

/**
 * How export files are packaged: zip (one entry: written here; many entries, streamed: yazl), gzip
 * (node:zlib) or as they are.
 *
 * Compression level 1 by default: on demo users it deflates about twice as fast as level 6 for files
 * about a fifth larger (CSV 31 % vs 26 % of the raw size; docs/exports.md) — an export's time is spent
 * formatting and compressing, its storage costs next to nothing.
 */
export type Compression = 'zip' | 'gzip' | 'none';
export const DEFAULT_COMPRESSION_LEVEL = 1;

const gzipAsync = promisify(gzipCallback);
const deflateRawAsync = promisify(deflateRawCallback);

/**
 * `data` compressed (raw deflate, or a gzip member) on the libuv thread pool, off the main thread.
 * With a pool, the output is gathered into pooled memory: zlib's one-shot API returns a fresh Buffer
 * that outlives young-generation collections while it is uploaded, and such Buffers pile up as external
 * memory until a major GC (measured: ~60 MB of them at the peak of an API export). The stream's own
 * 64 KiB pieces die young.
 */
export function compress(data: Buffer, options: { format: 'deflate-raw' | 'gzip'; level?: number; pool?: BufferPool; sizeHint?: number }): Promise<Buffer> {
  const level = options.level ?? DEFAULT_COMPRESSION_LEVEL;
  if (!options.pool) return options.format === 'gzip' ? gzipAsync(data, { level }) : deflateRawAsync(data, { level });
  const pool = options.pool;
  return new Promise((resolve, reject) => {
    const z = options.format === 'gzip' ? createGzip({ level, chunkSize: 64 * 1024 }) : createDeflateRaw({ level, chunkSize: 64 * 1024 });
    const out = new ByteBuilder(options.sizeHint ?? Math.ceil(data.length / 2), pool);
    z.on('data', (piece: Buffer) => out.appendBytes(piece));
    z.on('end', () => resolve(out.bytes()));
    z.on('error', reject);
    z.end(data);
  });
}

/** A gzip member of `data` (compressed on the libuv thread pool, off the main thread). */
export function gzip(data: Buffer, level = DEFAULT_COMPRESSION_LEVEL, pool?: BufferPool, sizeHint?: number): Promise<Buffer> {
  return compress(data, { format: 'gzip', level, pool, sizeHint });
}

/**
 * A zip archive holding one entry (API exports: one archive per ~5,000 users), as its three pieces
 * (local header, deflated data, central directory), uploaded as they are — never concatenated into a
 * second copy.
 *
 * Written here rather than with yazl: yazl checksums with buffer-crc32, a JavaScript byte loop
 * (~0.5 GB/s) that took as much main-thread time as formatting the JSON lines (profiled: 16 % of the
 * export's CPU); Node's zlib.crc32 is native (~6 GB/s). One stored-size entry is the simplest zip
 * there is (APPNOTE 6.3: no data descriptor, no zip64 — an entry is far below 4 GiB). The streamed
 * archive of many CSVs (ZipStream below) stays with yazl.
 */
export async function zipOne(entryName: string, data: Buffer, options: { level?: number; mtime?: Date; pool?: BufferPool; sizeHint?: number } = {}): Promise<Buffer[]> {
  if (data.length >= 0xffffffff) throw new RangeError(`zip entry ${entryName} is ${data.length} bytes: too large without zip64`);
  const name = Buffer.from(entryName, 'utf8');
  const crc = crc32(data);
  const deflated = await compress(data, { format: 'deflate-raw', level: options.level, pool: options.pool, sizeHint: options.sizeHint });
  const { time, date } = dosDateTime(options.mtime ?? new Date());
  const UTF8_NAMES = 0x0800;
  const local = Buffer.alloc(30 + name.length);
  local.writeUInt32LE(0x04034b50, 0); // local file header signature
  local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
  local.writeUInt16LE(UTF8_NAMES, 6);
  local.writeUInt16LE(8, 8); // method: deflate
  local.writeUInt16LE(time, 10);
  local.writeUInt16LE(date, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(deflated.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(0, 28); // extra field length
  name.copy(local, 30);
  const directory = Buffer.alloc(46 + name.length + 22);
  directory.writeUInt32LE(0x02014b50, 0); // central directory header signature
  directory.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0 (so the attributes below count)
  directory.writeUInt16LE(20, 6);
  directory.writeUInt16LE(UTF8_NAMES, 8);
  directory.writeUInt16LE(8, 10);
  directory.writeUInt16LE(time, 12);
  directory.writeUInt16LE(date, 14);
  directory.writeUInt32LE(crc, 16);
  directory.writeUInt32LE(deflated.length, 20);
  directory.writeUInt32LE(data.length, 24);
  directory.writeUInt16LE(name.length, 28);
  // extra, comment, disk number, internal attributes: 0
  directory.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: a regular file, rw-r--r--
  directory.writeUInt32LE(0, 42); // offset of the local header
  name.copy(directory, 46);
  const end = 46 + name.length;
  directory.writeUInt32LE(0x06054b50, end); // end of central directory
  directory.writeUInt16LE(1, end + 8); // entries on this disk
  directory.writeUInt16LE(1, end + 10); // entries
  directory.writeUInt32LE(46 + name.length, end + 12); // size of the central directory
  directory.writeUInt32LE(local.length + deflated.length, end + 16); // its offset
  return [local, deflated, directory];
}

/** MS-DOS date and time (UTC, 2-second resolution), as zip headers hold them. */
function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.min(2107, Math.max(1980, d.getUTCFullYear()));
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

/**
 * A zip archive of many entries, produced as a stream (to be uploaded while it is written): one entry
 * per CSV chunk. Memory stays bounded: `add` waits while `maxPending` entries are not yet fully read by
 * the archive, and yazl's pipeline (entry → CRC → deflate → output) honours back-pressure from the
 * reader of `output`, so nothing piles up when the upload is slower than the formatting.
 *
 * Entries are streamed into yazl (addReadStreamLazy), not added as buffers: yazl keeps every buffer
 * entry's compressed bytes until the archive ends, which for a ten-million-user export would be the
 * whole export in memory.
 */
export class ZipStream {
  private readonly zip = new ZipFile();
  readonly output: Readable = this.zip.outputStream as Readable;
  private pending = 0;
  private wake?: () => void;
  private failed?: Error;
  private previous?: Buffer;

  /** `pool`: where an entry's memory goes back once the archive has read it all. */
  constructor(private readonly options: { level?: number; mtime?: Date; maxPending?: number; pool?: BufferPool } = {}) {
    this.zip.on('error', (err: Error) => this.abort(err));
  }

  /** Adds an entry; resolves once there is room for another (rejects if the archive was aborted). */
  async add(entryName: string, data: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    this.pending++;
    let held: Buffer | undefined = data; // released once yazl takes it: yazl keeps the lazy function itself forever
    this.zip.addReadStreamLazy(entryName, { size: data.length, compressionLevel: this.options.level ?? DEFAULT_COMPRESSION_LEVEL, mtime: this.options.mtime ?? new Date() }, (cb) => {
      // yazl pumps entries one after the other: when it asks for this one, the previous entry has
      // gone all the way through CRC and deflate, so its memory is free to reuse.
      if (this.previous) this.options.pool?.release(this.previous);
      this.previous = held;
      const source = new PassThrough();
      source.on('end', () => {
        this.pending--;
        this.wake?.();
      });
      source.end(held);
      held = undefined;
      cb(null, source);
    });
    const limit = this.options.maxPending ?? 2;
    while (this.pending >= limit) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      if (this.failed) throw this.failed;
    }
  }

  /** No more entries: the archive's central directory is written and `output` ends. */
  end(): void {
    this.zip.end();
  }

  /** Stops waiting writers (the upload failed): `add` rejects with `err`. */
  abort(err: Error): void {
    this.failed ??= err;
    this.wake?.();
  }
}
