import { csvColumns, CSV_DELIMITERS, type CsvColumns, type CsvDelimiter, type CsvReport } from './csv';
import { ExportRequestError } from './errors';
import { checkFields } from './jsonLines';
import { checkId, type ExportSource } from './naming';
import type { Compression } from './packaging';

/**
 * What to export (the parts of an export job the file writer needs), and its validation: every
 * problem is refused up front, naming the field, before a single row is read or a file written.
 */
export type ExportJob =
  | {
      kind: 'api-segment';
      segmentId: string;
      /** `fields_to_export`. */
      fields: string[];
      /** `output_format`: zip (default) or gzip. */
      outputFormat?: 'zip' | 'gzip';
    }
  | {
      kind: 'csv';
      report: CsvReport;
      source: ExportSource;
      sourceId: string;
      customAttributes?: string[];
      delimiter?: CsvDelimiter;
      compression?: Compression;
    };

export type CheckedJob =
  | { kind: 'api-segment'; segmentId: string; selected: ReadonlySet<string>; outputFormat: 'zip' | 'gzip' }
  | { kind: 'csv'; report: CsvReport; source: ExportSource; sourceId: string; columns: CsvColumns; delimiter: CsvDelimiter; compression: Compression; base: 'users' | 'emails' };

const SOURCES: readonly ExportSource[] = ['segment', 'campaign', 'canvas'];
const REPORTS: readonly CsvReport[] = ['user-data', 'email-addresses', 'recipients'];
const COMPRESSIONS: readonly Compression[] = ['zip', 'gzip', 'none'];

export function checkJob(job: ExportJob): CheckedJob {
  if (job.kind === 'api-segment') {
    const outputFormat = job.outputFormat ?? 'zip';
    if (outputFormat !== 'zip' && outputFormat !== 'gzip') throw new ExportRequestError('output_format', `must be zip or gzip, not ${JSON.stringify(outputFormat)}`);
    return { kind: 'api-segment', segmentId: checkId('segment_id', job.segmentId), selected: new Set(checkFields(job.fields)), outputFormat };
  }
  if (job.kind !== 'csv') throw new ExportRequestError('kind', `must be api-segment or csv, not ${JSON.stringify((job as { kind: unknown }).kind)}`);
  if (!SOURCES.includes(job.source)) throw new ExportRequestError('source', `must be one of ${SOURCES.join(', ')}`);
  if (!REPORTS.includes(job.report)) throw new ExportRequestError('report', `must be one of ${REPORTS.join(', ')}`);
  if (job.report === 'recipients' && job.source === 'segment') throw new ExportRequestError('report', 'recipient exports (variation, control group) exist for campaigns and Canvases only');
  const delimiter = job.delimiter ?? ',';
  if (!CSV_DELIMITERS.includes(delimiter)) throw new ExportRequestError('delimiter', `must be one of ${CSV_DELIMITERS.map((d) => `"${d}"`).join(' ')}`);
  const compression = job.compression ?? 'zip';
  if (!COMPRESSIONS.includes(compression)) throw new ExportRequestError('compression', `must be one of ${COMPRESSIONS.join(', ')}`);
  return {
    kind: 'csv',
    report: job.report,
    source: job.source,
    sourceId: checkId(`${job.source}_id`, job.sourceId),
    columns: csvColumns(job.report, job.customAttributes ?? []),
    delimiter,
    compression,
    base: job.report === 'email-addresses' ? 'emails' : 'users',
  };
}
