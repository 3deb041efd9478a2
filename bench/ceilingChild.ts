/**
 * The ceiling the copy is measured against: the same messages APPENDed to the
 * target from memory, every mailbox at once, with no source reads while the
 * clock runs. Untimed, it first reads every message of every job's source
 * into memory; timed, it logs in to each target, creates the folders the
 * copier would (planFolders) and stores each folder's messages in UID order
 * with the copier's own MULTIAPPEND (appendGroup), in groups of the copier's
 * size (GROUP_MESSAGES / GROUP_BYTES). What the copy step takes beyond this
 * is mailferry's own cost. Input: a JSON file {jobs: [{source, target}]}.
 * Prints `result {"ms": …, "messages": …, "bytes": …}`.
 */
import { readFileSync } from 'node:fs';
import { appendGroup, type AppendItem } from '../connectors/mail/append';
import { closeImap, openImap } from '../connectors/mail/connect';
import { GROUP_BYTES, GROUP_MESSAGES } from '../connectors/mail/copy';
import { listFolders, planFolders, type FolderListing } from '../connectors/mail/folders';
import { storableFlags } from '../connectors/mail/inventory';
import type { ImapEndpoint } from '../connectors/mail/types';

interface Job {
  source: ImapEndpoint;
  target: ImapEndpoint;
}

interface Loaded {
  target: ImapEndpoint;
  listing: FolderListing;
  folders: Map<string, AppendItem[]>;
}

/** Every message of the source, in memory, by canonical folder path. */
async function load(job: Job): Promise<Loaded> {
  const source = await openImap(job.source);
  try {
    const listing = await listFolders(source);
    const folders = new Map<string, AppendItem[]>();
    for (const folder of listing.folders) {
      await source.mailboxOpen(folder.nativePath, { readOnly: true });
      const items: AppendItem[] = [];
      for await (const msg of source.fetch('1:*', { uid: true, source: true, flags: true, internalDate: true }, { uid: true })) {
        if (msg.source) items.push({ body: msg.source, flags: storableFlags(msg.flags), internalDate: new Date(msg.internalDate ?? Date.now()) });
      }
      folders.set(folder.path, items);
      await source.mailboxClose();
    }
    return { target: job.target, listing, folders };
  } finally {
    await closeImap(source);
  }
}

async function appendAll(job: Loaded): Promise<{ ms: number; messages: number; bytes: number }> {
  const started = process.hrtime.bigint();
  const target = await openImap(job.target);
  let messages = 0;
  let bytes = 0;
  try {
    for (const pair of planFolders(job.listing, await listFolders(target))) {
      if (!pair.targetExists && pair.target !== 'INBOX') {
        await target.mailboxCreate(pair.targetNative);
        if (pair.source.subscribed) await target.mailboxSubscribe(pair.targetNative);
      }
      let group: AppendItem[] = [];
      let groupBytes = 0;
      const flush = async () => {
        await appendGroup(target, pair.targetNative, group);
        group = [];
        groupBytes = 0;
      };
      for (const item of job.folders.get(pair.source.path) ?? []) {
        group.push(item);
        groupBytes += item.body.length;
        messages++;
        bytes += item.body.length;
        if (group.length >= GROUP_MESSAGES || groupBytes >= GROUP_BYTES) await flush();
      }
      await flush();
    }
  } finally {
    await closeImap(target);
  }
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, messages, bytes };
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { jobs: Job[] };
  const loaded = await Promise.all(config.jobs.map(load));
  const results = await Promise.all(loaded.map(appendAll));
  process.stdout.write(
    `result ${JSON.stringify({
      ms: Math.max(...results.map((r) => r.ms)),
      messages: results.reduce((n, r) => n + r.messages, 0),
      bytes: results.reduce((n, r) => n + r.bytes, 0),
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
