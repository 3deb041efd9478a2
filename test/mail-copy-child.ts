/**
 * A mailbox copy in its own process, for the crash test: it resumes from the
 * checkpoint file if there is one, rewrites that file atomically after every
 * checkpoint and prints `checkpoint <n>` so the parent knows when to SIGKILL
 * it. Input: the path of a JSON file {source, target, checkpointFile}.
 */
import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { createMailCopier } from '../connectors/mail';
import type { CopyCheckpoint, ImapEndpoint } from '../connectors/mail/types';

interface ChildConfig {
  source: ImapEndpoint;
  target: ImapEndpoint;
  checkpointFile: string;
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as ChildConfig;
  const checkpoint = existsSync(config.checkpointFile)
    ? (JSON.parse(readFileSync(config.checkpointFile, 'utf8')) as CopyCheckpoint)
    : undefined;
  let n = 0;
  const result = await createMailCopier().copyMailbox(config.source, config.target, {
    checkpoint,
    onCheckpoint: (cp) => {
      writeFileSync(`${config.checkpointFile}.tmp`, JSON.stringify(cp));
      renameSync(`${config.checkpointFile}.tmp`, config.checkpointFile);
      process.stdout.write(`checkpoint ${++n}\n`);
    },
  });
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
