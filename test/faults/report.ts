/**
 * The fault table of `npm run test:faults`: one line per fault from
 * test-artifacts/faults/results, printed with how each figure was obtained and
 * written to test-artifacts/faults/report.json. Exits 1 when a row's own
 * verification failed, or when an expected fault left no row (it did not run).
 */
import { ARTIFACTS, writeArtifact } from './helpers/env';
import { readFaultResults, type FaultResult } from './helpers/results';

const EXPECTED = [
  'worker SIGKILL mid-copy (seeded)',
  'worker SIGKILL mid-copy, target rewriting messages',
  'worker SIGKILL mid-copy, target without MULTIAPPEND',
  'two workers, one SIGKILLed',
  'worker SIGKILL between convertToMailbox and setTargetAddress',
  'worker SIGKILL during contacts/calendar copy',
  'worker SIGKILL while reports are sent',
  'worker SIGKILL during Complete Migration',
  'Temporal server SIGKILL + restart',
  'target IMAP stopped mid-copy',
  'target IMAP refusing logins',
  'target quota full mid-copy',
  'target LDAP stopped mid-provisioning',
  'network cut (SIGSTOP > heartbeat)',
  'source changed under the copy + delta pass',
  'CSV fuzz (files)',
  'CSV report round-trips',
  'hostile rows, refused + over-limit items',
  'path traversal in org names',
  'bad settings refused',
  'secrets scan',
];

const HOW = [
  'messages verified / lost / duplicated / different: lab/verify.ts compares every source folder with its target folder by content fingerprint after the row\'s own batch (and resumes) ended: lost = source messages missing on the target, duplicated = target messages beyond the source\'s (a message deleted on the source after its copy is allowed once), different = same bytes, other flags or date',
  'lost / duplicated also count contacts and events: connectors/dav/verify.ts compares source and target collections by UID (missing, extra), and the suite counts target items whose UID is there more than once',
  'contacts+events: items of mailboxes with no missing, extra or doubled item',
  'batches: batches of the row that ended `completed` (the first, resumes, delta passes)',
  'n/a: the fault cannot lose or duplicate mail; the row\'s own figures stand in the last column',
];

const results = readFaultResults();
const missing = EXPECTED.filter((f) => !results.some((r) => r.fault === f));
const failed = results.filter((r) => r.verification !== 'passed');
const na = 'n/a';
const columns = ['fault', 'injected', 'batches', 'msgs verified', 'lost', 'duplicated', 'different', 'contacts+events', 'own figures', 'verification'];
const cells = (r: FaultResult) => [
  r.fault,
  String(r.injected),
  ...(r.mail
    ? [r.mail.batchesFinished, r.mail.messagesVerified, r.mail.lost, r.mail.duplicated, r.mail.different, r.mail.contactsEventsVerified].map(String)
    : [na, na, na, na, na, na]),
  r.figures ?? '',
  r.verification === 'passed' ? 'passed' : 'FAILED',
];
const rows = results.map(cells);
const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
const line = (cs: string[]) => cs.map((c, i) => (i === 0 || i >= 8 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
const table = [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');

console.log(`\n${table}\n`);
console.log('How each figure was obtained:');
for (const h of HOW) console.log(`- ${h}`);
for (const r of results) console.log(`- ${r.fault}: injected = ${r.injectedHow}${r.seed !== undefined ? `; seed ${r.seed} (FAULT_SEED=${r.seed} replays it)` : ''}`);
for (const m of missing) console.log(`MISSING: no row for "${m}" (the fault did not run, or its test failed before its verification)`);
for (const r of failed) console.log(`${r.fault}: ${r.verification}`);
writeArtifact('report.json', JSON.stringify({ generatedAt: new Date().toISOString(), table: results, missing, how: HOW }, null, 2));
console.log(`report: ${ARTIFACTS}/report.json`);
process.exitCode = missing.length || failed.length ? 1 : 0;
