import avro from 'avsc';

/** Decodes an Avro container file with avsc's own reader: header metadata and records. */
export async function decodeWithAvsc(bytes: Buffer): Promise<{ meta: Record<string, string>; records: Record<string, unknown>[] }> {
  return new Promise((resolve, reject) => {
    const records: Record<string, unknown>[] = [];
    let meta: Record<string, string> = {};
    const decoder = new avro.streams.BlockDecoder({ noDecode: false });
    decoder.on('metadata', (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
      meta = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString('utf8')]));
    });
    decoder.on('data', (r: Record<string, unknown>) => records.push(r));
    decoder.on('end', () => resolve({ meta, records }));
    decoder.on('error', reject);
    decoder.end(bytes);
  });
}
