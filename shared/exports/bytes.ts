import type { BufferPool } from '../util/bufferPool';

/**
 * Text appended straight into one growing UTF-8 buffer, on pooled memory when a pool is given. A file's bytes are made once, without a
 * whole-file string (twice the size as UTF-16 as soon as one character is not Latin-1) or a list of
 * pieces to concatenate (a second copy): each of those is garbage the size of the file, and ~5 files
 * in flight made them a quarter of the export's peak memory.
 */
export class ByteBuilder {
  private buf: Buffer;
  private length = 0;

  /** `capacity`: the expected size (e.g. the previous file's); grows by half when short. */
  constructor(
    capacity: number,
    private readonly pool?: BufferPool,
  ) {
    this.buf = this.alloc(Math.max(1024, capacity));
  }

  private alloc(size: number): Buffer {
    if (!this.pool) return Buffer.allocUnsafe(size);
    // Pooled sizes in steps of 512 KiB: files of one export differ by a few percent, and a buffer a
    // little too small for the next file would otherwise be dropped (garbage) and a new one made.
    const step = 512 * 1024;
    const buf = this.pool.acquire(Math.ceil(size / step) * step);
    return buf;
  }

  append(text: string): void {
    this.reserve(Buffer.byteLength(text));
    this.length += this.buf.write(text, this.length);
  }

  appendBytes(bytes: Buffer): void {
    this.reserve(bytes.length);
    this.length += bytes.copy(this.buf, this.length);
  }

  private reserve(need: number): void {
    if (this.length + need <= this.buf.length) return;
    const bigger = this.alloc(Math.max(this.length + need, Math.ceil(this.buf.length * 1.5)));
    this.buf.copy(bigger, 0, 0, this.length);
    this.pool?.release(this.buf);
    this.buf = bigger;
  }

  /** The bytes written (a view: no copy). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
