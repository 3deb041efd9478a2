/**
 * mailferry's copy step alone, in a process of its own so the benchmark can
 * read its peak RSS, profile it (--cpu-prof) or SIGKILL it. Input: the path of
 * a JSON file {jobs: [{source, target}], checkpointFile?}; every job is copied
 * at once, as a worker with that many mailboxes in flight would. With a
 * checkpoint file (one job only) it resumes from it and rewrites it after
 * every checkpoint, printing `checkpoint <n> <messagesCopied>`.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createMailCopier } from '../connectors/mail';
import type { CopyCheckpoint, CopyResult, ImapEndpoint } from '../connectors/mail/types';

export interface CopyChildConfig {
  jobs: Array<{ source: ImapEndpoint; target: ImapEndpoint }>;
  checkpointFile?: string;
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as CopyChildConfig;
  const file = config.checkpointFile;
  const checkpoint = file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as CopyCheckpoint) : undefined;
  const copier = createMailCopier();
  let n = 0;
  let copied = 0;
  const results: CopyResult[] = await Promise.all(
    config.jobs.map((job) =>
      copier.copyMailbox(job.source, job.target, {
        checkpoint,
        onProgress: (p) => {
          copied = p.messagesCopied;
        },
        onCheckpoint: file
          ? (cp) => {
              writeFileSync(`${file}.tmp`, JSON.stringify(cp));
              renameSync(`${file}.tmp`, file);
              process.stdout.write(`checkpoint ${++n} ${copied}\n`);
            }
          : undefined,
      }),
    ),
  );
  process.stdout.write(`result ${JSON.stringify(results)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
