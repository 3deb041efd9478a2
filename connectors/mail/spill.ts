/**
 * Large messages go through a file instead of the heap: FETCHed from the
 * source in partial chunks (imapflow's download()) onto disk, then APPENDed
 * from there (append.ts appendFile), so a 100 MB message needs a chunk of
 * memory, not 100 MB. The file also gives the APPEND the exact size its
 * literal must announce, which a source's RFC822.SIZE may not (Exchange's
 * is an estimate). Smaller messages stay in memory and in MULTIAPPEND groups.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImapFlow } from 'imapflow';
import type { SpilledBody } from './append';

/** A message larger than this (RFC822.SIZE) goes through a file. */
export const SPILL_BYTES = 8 * 1024 * 1024;
/** the partial FETCH size: 1 MB takes a 100 MB message in 100 round trips */
const DOWNLOAD_CHUNK_BYTES = 1024 * 1024;

/** One folder's spill files, in a private directory (0700, files 0600) removed with everything in it. */
export class SpillDir {
  private dir: Promise<string> | undefined;

  /** FETCHes the message into a file of its own; undefined when the source returns no body for it. */
  async spill(source: ImapFlow, uid: number): Promise<SpilledBody | undefined> {
    const { content } = await source.download(String(uid), undefined, { uid: true, chunkSize: DOWNLOAD_CHUNK_BYTES });
    if (!content) return undefined;
    this.dir ??= mkdtemp(join(tmpdir(), 'mailferry-spill-'));
    const path = join(await this.dir, `${uid}.eml`);
    let size = 0;
    let hasNul = false;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        hasNul ||= chunk.includes(0);
        done(null, chunk);
      },
    });
    await pipeline(content, count, createWriteStream(path, { mode: 0o600 }));
    return { path, size, hasNul };
  }

  async remove(): Promise<void> {
    if (this.dir) await rm(await this.dir, { recursive: true, force: true });
  }
}

/** Deletes one spill file once its message is on the target (or will be read again). */
export async function discard(body: SpilledBody): Promise<void> {
  await rm(body.path, { force: true });
}
