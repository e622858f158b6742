// The layout version of a node's data directory (docs/upgrading.md). Every directory a
// node opens carries a small marker file, `FORMAT`, naming the layout it was written in and
// the ringkv release that created it. A node refuses a directory in a layout it cannot read,
// naming both layouts, before it opens anything in it: a newer layout may mean records a
// release that is too old would misread, and misread records are lost writes. An older
// layout is moved up when the storage is opened (the LMDB engine builds what it lacks), and
// only then does the marker move: a crash before leaves the old marker, and the move starts
// again.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ringkvVersion } from '../version.js';

/**
 * The data directory layout this release writes and reads.
 * - 1: the first layout.
 * - 2: a value's row may carry a fifth field, its expiry (a ttl). Rows of layout 1 read
 *   unchanged, so moving a directory from 1 to 2 rewrites only its marker; the marker must
 *   move, because a release that reads only layout 1 would take expiring values for
 *   permanent ones.
 * - 3: LMDB keeps a ring index, bucket digests and a purge list beside the records, in the
 *   same transactions (lmdb-ring-index.ts). Opening a directory of layout 1 or 2 builds
 *   them from the records (lmdb-ring-build.ts); the marker must move, because a release
 *   without them would write records the index does not list.
 */
export const dataFormat = 3;
/** The layout from which the LMDB engine's ring index is kept with every write. */
export const ringIndexFormat = 3;
/** The oldest layout this release still reads (an older one would need a migration). */
export const dataFormatOldest = 1;

const markerName = 'FORMAT';

interface Marker {
  format: number;
  createdBy: string;
}

export class DataFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataFormatError';
  }
}

/**
 * Checks the marker of `dataDir` (which exists) and writes it when absent: a new directory
 * gets the current layout, one written before markers existed is layout 1. Returns the
 * layout found; an older one keeps its marker until `markDataFormat`.
 */
export function checkDataFormat(dataDir: string): number {
  const path = join(dataDir, markerName);
  if (!existsSync(path)) {
    const older = existsSync(join(dataDir, 'lmdb'));
    writeMarker(path, older ? { format: 1, createdBy: 'unknown (before format markers)' } : { format: dataFormat, createdBy: ringkvVersion });
    return older ? 1 : dataFormat;
  }
  const marker = parseMarker(readFileSync(path, 'utf8'), path);
  if (marker.format > dataFormat || marker.format < dataFormatOldest) {
    const which = marker.format > dataFormat ? 'a newer' : 'an older';
    throw new DataFormatError(
      `the data directory ${dataDir} is in data format ${marker.format} (created by ringkv ${marker.createdBy}); ringkv ${ringkvVersion} reads formats ` +
        `${dataFormatOldest}..${dataFormat}. Run ${which} ringkv release on this directory, or start the node on an empty --data-dir and let it join ` +
        `(docs/upgrading.md). Nothing in the directory was changed.`,
    );
  }
  return marker.format;
}

/** Moves the marker of `dataDir` up to the current layout, once its storage has been opened in it; who created it is kept. */
export function markDataFormat(dataDir: string): void {
  const path = join(dataDir, markerName);
  const marker = parseMarker(readFileSync(path, 'utf8'), path);
  if (marker.format < dataFormat) writeMarker(path, { ...marker, format: dataFormat });
}

/** Written aside and renamed, so a crash leaves either the old marker or the whole new one. */
function writeMarker(path: string, marker: Marker): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(marker)}\n`);
  renameSync(`${path}.tmp`, path);
}

function parseMarker(text: string, path: string): Marker {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const marker = parsed as Partial<Marker> | undefined;
  if (marker === undefined || marker === null || !Number.isInteger(marker.format) || typeof marker.createdBy !== 'string') {
    throw new DataFormatError(`${path} is not a ringkv data format marker (expected {"format": <n>, "createdBy": "<version>"}); restore it or remove it if this directory is a ringkv data directory of format 1`);
  }
  return marker as Marker;
}
