/**
 * Finishing a migration, end to end on the dev server and the lab: a delta
 * sync copies only what arrived since, rollback undoes forwarding for one
 * mailbox, convert-to-meu turns migrated mailboxes into mail users (and
 * refuses the others), and Complete Migration refuses while a batch runs,
 * warns about MEUs never migrated, e-mails the final report and ends the
 * organisation.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { readLabInfo, type LabInfo } from '../lab/info';
import { labEndpoints, verifyMailbox } from '../lab/verify';
import { createCloudDirectory, createSourceDirectory } from '../connectors/directory';
import { DOMAINS } from '../lab/config';
import { createTemporalLedger } from '../connectors/ledger/temporal';
import { batchStatus } from '../client/batch';
import { convertToMeu, completeMigration, rollbackMailbox, syncBatch } from '../client/finish';
import { batchWorkflowId, organisationWorkflowId } from '../workflows/definitions';
import { batchResult, csvOf, csvSourceOf, labOrganisation, ROOT, runBatch, TestUsers } from './helpers/backbone';
import { appendMessages, rawMessage } from './helpers/imap';
import { batchStatusOf, ownQueue, waitFor, type OwnQueue } from './helpers/operators';
import { readSinkMessages } from './helpers/smtpSink';

let info: LabInfo;
let q: OwnQueue;
let users: TestUsers;

beforeAll(async () => {
  info = readLabInfo();
  q = await ownQueue('fin');
  users = new TestUsers(info);
}, 120_000);

afterAll(async () => {
  await q?.close();
  await users?.cleanup();
});

async function cloudRecipient(address: string) {
  const dir = createCloudDirectory({ ...info.cloud.ldap, routingDomain: DOMAINS.routing });
  try {
    return (await dir.findRecipient(address))!;
  } finally {
    await dir.close();
  }
}

async function sourceMailbox(address: string) {
  const o = info.onprem.ldap;
  const dir = createSourceDirectory({ url: o.url, suffix: o.suffix, bindDn: o.bindDn, password: o.password, caFile: o.caFile });
  try {
    return (await dir.findMailbox(address))!;
  } finally {
    await dir.close();
  }
}

test('sync copies only new mail; rollback restores forwarding; convert-to-meu converts completed rows once and refuses the rest', async () => {
  const a = await users.add('fin-a', { messages: 10, contacts: 1, events: 1 });
  const b = await users.add('fin-b', { messages: 5, contacts: 1, events: 1 });
  const c = await users.add('fin-c', { kind: 'no-meu', messages: 2 });
  const org = await labOrganisation(q.session, 'fin-ops', 2);
  const before = await sourceMailbox(b.address);
  const first = await runBatch(q.session, org, csvSourceOf(q.session, org, csvOf([a, b, c].map((u) => [u.address, '', 'False']))));
  const r1 = await batchResult(q.session, org, first.batch);
  expect([r1.completed, r1.failed]).toEqual([2, 1]);

  // mail arrives on-premises after the copy: the delta pass copies exactly that
  const { source, target } = labEndpoints(info, a.address);
  await appendMessages(
    source,
    'INBOX',
    [1, 2, 3].map((i) => ({ raw: rawMessage({ subject: `after the batch ${i}`, messageId: `<late-${i}-${a.address}>` }) })),
  );
  const sync = await syncBatch(q.session, org, 'jest');
  expect(sync.of).toBe(first.batch);
  const r2 = await batchResult(q.session, org, sync.batch);
  expect(r2.phase).toBe('completed');
  expect(r2.total).toBe(2);
  const rows = Object.fromEntries((await batchStatusOf(q.session, org, sync.batch)).rows.map((r) => [r.address, r]));
  expect(Object.keys(rows).sort()).toEqual([a.address, b.address].sort());
  expect(rows[a.address].copy?.messagesCopied).toBe(10 + 3);
  expect(rows[b.address].copy?.messagesCopied).toBe(5);
  expect(r2.messagesCopied).toBe(13 + 5);
  expect((await verifyMailbox(source, target)).equal).toBe(true);
  // no Mailboxes Ready for a pass that changes no forwarding
  const mails = await readSinkMessages(info, { subject: `${org} batch ${sync.batch}` });
  expect(mails.map((m) => m.mail.subject).join('\n')).not.toContain('Mailboxes Ready');

  // rollback: b's forwarding goes back to what it was; the ledger says so
  const rolled = await rollbackMailbox(q.session, org, 'jest', b.address);
  expect(rolled.state).toBe('rolledBack');
  expect((await sourceMailbox(b.address)).targetAddress).toBe(before.targetAddress);
  const entry = await createTemporalLedger(q.session.client, { taskQueue: q.session.taskQueue, readOnly: true }).lookup(org, b.address);
  expect(entry?.outcome?.state).toBe('rolledBack');
  expect(entry?.outcome?.copy?.messagesCopied).toBe(5);
  await expect(rollbackMailbox(q.session, org, 'jest', b.address)).rejects.toThrow(/rolledBack, not migrated/);
  await expect(rollbackMailbox(q.session, org, 'jest', c.address)).rejects.toThrow(/failed, not migrated/);

  // convert-to-meu of the first batch: a converts; b (rolled back) and c (failed) are refused
  const conv = await convertToMeu(q.session, org, 'jest', { batch: first.batch });
  expect(conv.converted).toEqual([a.address]);
  expect(conv.refused.map((r) => r.address).sort()).toEqual([b.address, c.address].sort());
  expect(conv.failed).toEqual([]);
  const meu = await sourceMailbox(a.address);
  expect(meu.recipientType).toBe('MailUser');
  expect(meu.targetAddress).toMatch(/^SMTP:/);
  expect(meu.proxyAddresses).toContain(`X500:${meu.legacyExchangeDN}`);
  // the cloud mailbox's own legacyExchangeDN, which migration gave it, as X500 too
  const cloudLegacyDn = (await cloudRecipient(a.address)).legacyExchangeDN;
  expect(cloudLegacyDn).toMatch(/^\/o=ExchangeLabs\//);
  expect(meu.proxyAddresses).toContain(`X500:${cloudLegacyDn}`);
  expect(meu.proxyAddresses.some((p) => p.toLowerCase().includes('mail.cloud.test'))).toBe(true);
  expect((await sourceMailbox(b.address)).recipientType).toBe('UserMailbox');
  const again = await convertToMeu(q.session, org, 'jest', { mailboxes: [a.address] });
  expect([again.converted, again.unchanged]).toEqual([[], [a.address]]);
  expect((await sourceMailbox(a.address)).proxyAddresses).toEqual(meu.proxyAddresses);
}, 300_000);

test('migration complete: refused while a batch runs, warns about MEUs never migrated, e-mails the final report, ends the organisation', async () => {
  const since = new Date(Date.now() - 1000);
  const moved = await users.add('fin-moved', { messages: 300, contacts: 1, events: 1 });
  const never = await users.add('fin-never', { messages: 1 });
  const org = await labOrganisation(q.session, 'fin-done', 1);
  const { batch } = await runBatch(q.session, org, csvSourceOf(q.session, org, csvOf([[moved.address, '', 'False']])));
  await expect(completeMigration(q.session, org, 'jest')).rejects.toThrow(/still active/);
  await batchResult(q.session, org, batch);

  // through the CLI: --json parsed, --check-mx a warning whatever DNS does here
  const cli = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'tsx'),
    [join(ROOT, 'client', 'main.ts'), '--org', org, 'migration', 'complete', '--check-mx', '--json'],
    { env: q.env, encoding: 'utf8', timeout: 120_000 },
  );
  expect(cli.stderr).toBe('');
  expect(cli.status).toBe(0);
  const out = JSON.parse(cli.stdout) as Awaited<ReturnType<typeof completeMigration>> & { mx: { ok: boolean; lines: string[] } };
  expect(out.mx.lines.length).toBeGreaterThan(0);
  if (!out.mx.ok) expect(out.mx.lines[0]).toMatch(/Could not look up the MX records of tailspintoys\.com .*DNS is not reachable/);
  expect(out.mailboxes).toBe(1);
  expect(out.batchRecordsDeleted).toBeGreaterThanOrEqual(1);
  const warned = out.notMigrated.map((n) => n.address);
  expect(warned).toContain(never.address);
  expect(warned).not.toContain(moved.address);

  const mail = (await readSinkMessages(info, { since, subject: `Migration completed: ${org}` }))[0];
  expect(mail).toBeDefined();
  const final = mail.mail.attachments.find((x) => x.filename === 'FinalReport.csv')!.content.toString();
  expect(final).toMatch(new RegExp(`^${moved.address},${batch},completed,copyData,,300,`, 'm'));
  expect(mail.mail.attachments.find((x) => x.filename === 'NotMigrated.csv')!.content.toString()).toContain(never.address);

  const orgRun = await q.session.client.workflow.getHandle(organisationWorkflowId(org)).describe();
  expect(orgRun.status.name).toBe('COMPLETED');
  // the server deletes asynchronously
  await waitFor('the batch record to be deleted', () =>
    q.session.client.workflow
      .getHandle(batchWorkflowId(org, batch))
      .describe()
      .then(
        () => false,
        (err: unknown) => err instanceof WorkflowNotFoundError,
      ),
  );
  await expect(runBatch(q.session, org, csvSourceOf(q.session, org, csvOf([[never.address, '', 'False']])))).rejects.toThrow();
  await expect(batchStatus(q.session, org, batch)).rejects.toThrow(/cleaned up by Complete Migration/);
}, 300_000);
