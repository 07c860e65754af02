/**
 * Reusable memory for file bodies. A batch encodes many files of a few hundred KB each; each is read
 * only until its upload settles, but as Node Buffers (external memory) they are freed only by a major
 * GC, so a 100,000-event batch otherwise carries ~40 MB of finished bodies at its peak. With the pool,
 * a settled upload hands its memory to the next file. At most `maxKeptBytes` are kept between uses.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  private keptBytes = 0;

  constructor(private readonly options: { maxKeptBytes: number }) {}

  /** A Buffer of exactly `size` bytes (contents undefined), on pooled memory when some fits. */
  acquire(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i].byteLength >= size && (best < 0 || this.free[i].byteLength < this.free[best].byteLength)) best = i;
    }
    if (best < 0) return Buffer.from(new ArrayBuffer(size), 0, size);
    const [backing] = this.free.splice(best, 1);
    this.keptBytes -= backing.byteLength;
    return Buffer.from(backing, 0, size);
  }

  /** Only once nothing reads `buffer` any more (its upload has settled). */
  release(buffer: Buffer): void {
    const backing = buffer.buffer;
    if (!(backing instanceof ArrayBuffer) || buffer.byteOffset !== 0 || this.free.includes(backing)) return;
    if (backing.byteLength > this.options.maxKeptBytes) return;
    // Keep the most recent buffers: the next batch's files are most like the last ones.
    while (this.keptBytes + backing.byteLength > this.options.maxKeptBytes) this.keptBytes -= this.free.shift()!.byteLength;
    this.free.push(backing);
    this.keptBytes += backing.byteLength;
  }
}
