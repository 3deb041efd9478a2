/**
 * Hostile values against a real batch: addresses full of LDAP filter and DN
 * metacharacters (refused by the CSV check; through `batch resume --mailbox`,
 * which skips that check, the directory must escape them), a header-injection
 * attempt in the notification addresses,
 * path traversal in organisation names, a message the target refuses and a
 * mailbox with more refused messages than the bad-item limit. Each gets its
 * own specific error; every other row of the batch still completes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { labEndpoints, verifyMailbox } from '../../lab/verify';
import { csvOf, csvSourceOf, labEnv, labOrganisation, ROOT, TSX } from '../helpers/backbone';
import { writeSourceMaildirMessage } from '../helpers/imap';
import { batchStatusQuery, batchWorkflowId } from '../../workflows/definitions';
import { CliError } from '../../client/errors';
import { checkOrgName, orgState } from '../../client/org';
import { startBatch } from '../../client/batch';
import { finishBatch, startFleetBatch } from './helpers/batch';
import { recordVerified } from './helpers/results';
import { csvPassword } from './helpers/secrets';
import { closeFaultContext, openFaultContext, type FaultContext } from './helpers/suite';
import { stateDir } from './helpers/env';

let ctx: FaultContext;
beforeAll(async () => {
  ctx = await openFaultContext('hostile');
  await ctx.pool.start();
});
afterAll(() => closeFaultContext(ctx));

const BAD_ITEM_LIMIT = 50;

test('hostile addresses, a refused message and a mailbox over the bad-item limit: specific errors, the rest completes', async () => {
  const { info, session, users } = ctx;
  const plain = await users.add('hx-plain', { messages: 25, contacts: 2, events: 2 });
  const refused = await users.add('hx-refused', { messages: 20, contacts: 1, events: 1 });
  await writeSourceMaildirMessage(info, refused.address, Buffer.alloc(0), new Date('2023-05-05T05:05:05Z'));
  const over = await users.add('hx-over', { messages: 5, contacts: 1, events: 1 });
  for (let i = 0; i <= BAD_ITEM_LIMIT; i++) await writeSourceMaildirMessage(info, over.address, Buffer.alloc(0), new Date(Date.UTC(2023, 0, 1, 0, i)));

  const local = plain.address.split('@')[0]!;
  const hostile = [
    `${local.slice(0, 4)}*@tailspintoys.com`, // a filter wildcard that would match the real hx-… mailboxes
    '*@tailspintoys.com',
    `${local}\\2a@tailspintoys.com`,
    `${local})(mail=*@tailspintoys.com`,
    'cn=admin,dc=onprem,dc=test@tailspintoys.com',
  ];
  const rows: [string, string, string][] = [
    [plain.address, csvPassword(), 'False'],
    [refused.address, csvPassword(), 'False'],
    [over.address, csvPassword(), 'False'],
    ...hostile.map((h): [string, string, string] => [h.includes(',') || h.includes('"') ? `"${h.replace(/"/g, '""')}"` : h, csvPassword(), 'False']),
  ];
  const org = await labOrganisation(session, 'faults-hostile', 3);
  const batch = await startFleetBatch(session, org, csvSourceOf(session, org, csvOf(rows), 'hostile.csv'));
  const { results } = await finishBatch(session, org, batch, 0);
  const status = await session.client.workflow.getHandle(batchWorkflowId(org, batch)).query(batchStatusQuery);
  const row = (a: string) => status.rows.find((r) => r.address === a.toLowerCase());

  // `batch resume --mailbox` skips the CSV check: the metacharacters reach the directory, which must escape them
  const resume = await startFleetBatch(session, org, { kind: 'resume', mailboxes: hostile.map((h) => h.toLowerCase()) });
  const resumed = (await finishBatch(session, org, resume, 0)).results[0]!;
  const resumeStatus = await session.client.workflow.getHandle(batchWorkflowId(org, resume)).query(batchStatusQuery);
  const resumeOutcomes = [...resumeStatus.rows.map((r) => `${r.address}: ${r.state} ${r.error?.code ?? ''}`), ...resumeStatus.rejected.map((r) => `${r.address}: rejected ${r.code}`)];
  const plainReport = await verifyMailbox(labEndpoints(info, plain.address).source, labEndpoints(info, plain.address).target);
  const refusedReport = await verifyMailbox(labEndpoints(info, refused.address).source, labEndpoints(info, refused.address).target);

  const byCode = new Map<string, number>();
  const tally = (code: string) => byCode.set(code, (byCode.get(code) ?? 0) + 1);
  for (const r of status.rejected) tally(`csv ${r.code}`);
  for (const r of resumeStatus.rows) tally(`resume ${r.state} ${r.error?.code ?? ''}`.trim());
  for (const r of resumeStatus.rejected) tally(`resume ${r.code}`);
  tally(`bad items ${row(refused.address)?.copy?.badItems ?? 0}`);
  tally(`over limit ${row(over.address)?.error?.code ?? 'none'}`);
  const accepted = status.rows.filter((r) => r.state === 'completed').length;

  await recordVerified(
    {
      fault: 'hostile rows, refused + over-limit items',
      injected: 2 * hostile.length + 1 + (BAD_ITEM_LIMIT + 1),
      injectedHow: 'hostile addresses in the CSV and again through resume --mailbox, plus refused (empty) messages put in the source Maildirs',
      figures: `refused/accepted by code: ${[...byCode.entries()].map(([c, n]) => `${c}: ${n}`).join(', ')}; rows completed: ${accepted}`,
      notes: [
        ...status.rejected.map((r) => `line ${r.line} ${r.address}: ${r.code}`),
        ...resumeOutcomes.map((o) => `resume: ${o}`),
        `${refused.address}: refused message reported as a bad item, row ${row(refused.address)?.state}`,
        `${over.address}: ${row(over.address)?.error?.code}: ${row(over.address)?.error?.message}`,
      ],
    },
    () => {
      // the metacharacters never widened a directory search: each hostile row is refused on its own
      expect(status.rows.map((r) => r.address).sort()).toEqual([plain.address, refused.address, over.address].map((a) => a.toLowerCase()).sort());
      expect(status.rejected).toHaveLength(hostile.length);
      for (const r of status.rejected) expect(['BAD_ADDRESS', 'SOURCE_MAILBOX_NOT_FOUND']).toContain(r.code);
      expect(row(plain.address)?.state).toBe('completed');
      expect(row(refused.address)?.state).toBe('completed');
      expect(row(refused.address)?.copy?.badItems).toBe(1);
      expect(row(over.address)?.state).toBe('failed');
      expect(row(over.address)?.error?.code).toBe('BAD_ITEM_LIMIT');
      expect(results[0]!.completed).toBe(2);
      expect(resumed.completed).toBe(0);
      for (const r of resumeStatus.rows) expect(['failed', 'skipped']).toContain(r.state);
      expect(plainReport.findings).toEqual([]);
      // the refused (empty) message is the only one missing from that mailbox
      expect(refusedReport.findings.map((f) => f.kind)).toEqual(['missing']);
    },
  );
});

test('a line break in a notification address is refused before the batch starts', async () => {
  const { session, users } = ctx;
  const u = await users.add('hx-notify', { messages: 2, contacts: 0, events: 0 });
  const org = await labOrganisation(session, 'faults-notify', 1);
  const source = csvSourceOf(session, org, csvOf([[u.address, csvPassword(), 'False']]));
  await expect(startBatch(session, org, { startedBy: 'faults', notify: ['helpdesk@tailspintoys.com\r\nBcc: thief@evil.test'], source })).rejects.toThrow(
    /line break|header injection|notification address/i,
  );
  expect((await orgState(session.client, org)).batches).toEqual([]);
});

test('path traversal in an organisation name is refused by the CLI and never names a report folder', async () => {
  const names = ['../../etc', '..', 'a/../../b', 'Org', '.hidden', 'x'.repeat(80), 'a\\b', 'a b'];
  const outcomes = names.map((name) => {
    let thrown: unknown;
    try {
      checkOrgName(name);
    } catch (err) {
      thrown = err;
    }
    const run = spawnSync(TSX, [join(ROOT, 'client', 'main.ts'), '--org', name, 'batch', 'status'], { env: labEnv(), encoding: 'utf8' });
    return { name, thrown, status: run.status, stderr: run.stderr };
  });
  const refused = outcomes.filter((o) => o.thrown instanceof CliError && o.status === 2 && /Organisation name .* is not valid/.test(o.stderr)).length;
  await recordVerified(
    {
      fault: 'path traversal in org names',
      injected: names.length,
      injectedHow: 'organisation names handed to checkOrgName and to the CLI',
      figures: `refused ${refused} (CliError, CLI exit 2), accepted ${names.length - refused}`,
      notes: ['the report activities refuse the path too (ORG_NAME_PATTERN)'],
    },
    () => {
      for (const o of outcomes) {
        expect(o.thrown).toBeInstanceOf(CliError);
        expect(o.status).toBe(2);
        expect(o.stderr).toMatch(/Organisation name .* is not valid/);
      }
      expect(existsSync(resolve(stateDir(), 'etc'))).toBe(false);
    },
  );
});
