/**
 * A mailbox copy in its own process, for the large-message test: it samples
 * its own memory while it copies and prints the peaks beside the result, so
 * the test measures the copier alone (not jest). Input: the path of a JSON
 * file {source, target}.
 */
import { readFileSync } from 'node:fs';
import { createMailCopier } from '../connectors/mail';
import type { ImapEndpoint } from '../connectors/mail/types';

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { source: ImapEndpoint; target: ImapEndpoint };
  const copier = createMailCopier();
  const sample = () => {
    const m = process.memoryUsage();
    return { heapAndBuffers: m.heapUsed + m.arrayBuffers, rss: m.rss };
  };
  const before = sample();
  const peak = { ...before };
  const timer = setInterval(() => {
    const now = sample();
    peak.heapAndBuffers = Math.max(peak.heapAndBuffers, now.heapAndBuffers);
    peak.rss = Math.max(peak.rss, now.rss);
  }, 5);
  const result = await copier.copyMailbox(config.source, config.target);
  clearInterval(timer);
  const memory = {
    beforeMb: before.heapAndBuffers / MB,
    peakMb: peak.heapAndBuffers / MB,
    rssBeforeMb: before.rss / MB,
    rssPeakMb: peak.rss / MB,
  };
  process.stdout.write(`result ${JSON.stringify({ result, memory })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
