/**
 * The fault table of `npm run test:faults`: one line per fault from
 * test-artifacts/faults/results, printed and written to
 * test-artifacts/faults/report.json. Exits 1 when a fault lost or duplicated
 * anything, or when an expected fault left no result (it did not run).
 */
import { ARTIFACTS, writeArtifact } from './helpers/env';
import { readFaultResults } from './helpers/results';

const EXPECTED = [
  'worker SIGKILL (seeded)',
  'two workers, one SIGKILLed',
  'Temporal server SIGKILL + restart',
  'target IMAP stopped 30 s mid-copy',
  'target LDAP stopped mid-provisioning',
  'network cut (SIGSTOP > heartbeat)',
  'source changed + delta pass',
  'CSV fuzz (files)',
  'hostile rows, refused + over-limit items',
  'path traversal in org names',
  'bad settings refused',
  'secrets scan',
];

const results = readFaultResults();
const missing = EXPECTED.filter((f) => !results.some((r) => r.fault === f));
const bad = results.filter((r) => r.lost > 0 || r.duplicated > 0 || r.different > 0);
const columns = ['fault', 'times injected', 'batches finished', 'messages verified', 'lost', 'duplicated'];
const rows = results.map((r) => [r.fault, r.injected, r.batchesFinished, r.messagesVerified, r.lost, r.duplicated].map(String));
const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
const table = [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
const seeds = results.filter((r) => r.seed !== undefined).map((r) => `${r.fault}: seed ${r.seed}`);

console.log(`\n${table}\n`);
for (const s of seeds) console.log(s);
for (const m of missing) console.log(`MISSING: no result for "${m}" (the fault did not run or its test failed before recording)`);
for (const r of bad) console.log(`FAILED: ${r.fault}: ${r.lost} lost, ${r.duplicated} duplicated, ${r.different} different`);
writeArtifact('report.json', JSON.stringify({ generatedAt: new Date().toISOString(), table: results, missing, seeds }, null, 2));
console.log(`report: ${ARTIFACTS}/report.json`);
process.exitCode = missing.length || bad.length ? 1 : 0;
