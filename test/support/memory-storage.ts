import { Readable } from 'node:stream';
import type { ObjectMeta, ReadIntent, Storage, StoredObject } from '../../storage/types';

/** A Storage over in-memory buffers, for core tests that need many files fast; it counts what it is asked. */
export function memoryStorage(files: Record<string, Buffer>, lastModified = Date.UTC(2024, 0, 2, 3, 4, 5)) {
  const stats = { opens: 0, closes: 0, reads: 0, bytesRead: 0, intents: [] as ReadIntent[] };
  const storage: Storage = {
    async open(key, intent) {
      stats.intents.push(intent);
      // Own keys only: a file named __proto__ or constructor is missing, not Object's.
      const data = Object.hasOwn(files, key) ? files[key] : undefined;
      if (data === undefined) return { status: 'missing' };
      stats.opens += 1;
      const meta: ObjectMeta = { size: data.length, etag: `"mem-${data.length}"`, lastModified };
      let closed = false;
      const object: StoredObject = {
        meta,
        read(window) {
          stats.reads += 1;
          stats.bytesRead += window.end - window.start + 1;
          return Readable.from([data.subarray(window.start, window.end + 1)], { objectMode: false });
        },
        async close() {
          if (!closed) stats.closes += 1;
          closed = true;
        },
      };
      return { status: 'found', object };
    },
  };
  return { storage, stats };
}
