/**
 * How the copy's cost grows with the mailbox: one mailbox of small messages
 * at several sizes, each copied by the copy step alone in a fresh process
 * (its peak RSS is that size's), then verified.
 */
import { join } from 'node:path';
import type { LabInfo } from '../lab/info';
import { createOrgUser } from '../lab/users';
import { copyInChild } from './copy';
import { mailboxOf, provisionCloud, wipeTarget } from './lab';
import { writeSmallMessages } from './users';
import { verdictText, verifyAll } from './verify';

export interface GrowthPoint {
  messages: number;
  bytes: number;
  seedMs: number;
  copyMs: number;
  messagesPerSecond: number;
  peakRss: number;
  verdict: string;
}

export async function growthBench(info: LabInfo, sizes: number[], workDir: string, log: (line: string) => void): Promise<GrowthPoint[]> {
  const points: GrowthPoint[] = [];
  for (const size of sizes) {
    const address = `growth-${size}@tailspintoys.com`;
    let started = Date.now();
    await createOrgUser(info, { address, password: 'Bench!Growth1', kind: 'normal', messages: 0, contacts: 0, events: 0 });
    const bytes = await writeSmallMessages(address, size);
    await provisionCloud(info, [address]);
    await wipeTarget([address]);
    const seedMs = Date.now() - started;
    const box = mailboxOf(info, address, size, bytes);
    const r = await copyInChild(join(workDir, 'growth'), [box]);
    started = Date.now();
    const verdict = verdictText(await verifyAll([box]));
    const point = { messages: size, bytes, seedMs, copyMs: r.ms, messagesPerSecond: (size * 1000) / r.ms, peakRss: r.peakRss, verdict };
    points.push(point);
    log(
      `  ${String(size).padStart(6)} messages: ${point.messagesPerSecond.toFixed(0)} msg/s (${((point.messagesPerSecond / points[0]!.messagesPerSecond) * 100).toFixed(0)} % of the first size), peak RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MB, ${verdict} (verified in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  return points;
}

/** Every size's msg/s as a share of the first size's. */
export function growthRatios(points: Pick<GrowthPoint, 'messages' | 'messagesPerSecond'>[]): { messages: number; ratio: number }[] {
  const first = points[0]?.messagesPerSecond ?? 0;
  return points.map((p) => ({ messages: p.messages, ratio: first ? p.messagesPerSecond / first : 0 }));
}
