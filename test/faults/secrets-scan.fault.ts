/**
 * Runs last (scripts/test-faults.sh calls it after every other fault file):
 * no CSV password and no admin password, in plain text, in any workflow
 * history of the suite's Temporal server (raw protobuf bytes, every page of
 * every run), any worker log line, any report file, any e-mail of the SMTP
 * sink (decoded, attachments included) or any artifact.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { temporal } from '@temporalio/proto';
import { readLabInfo } from '../../lab/info';
import { testSession } from '../helpers/backbone';
import { ARTIFACTS } from './helpers/env';
import { recordVerified } from './helpers/results';
import { usedCsvPasswords } from './helpers/secrets';
import { stateDir } from './helpers/env';

function filesUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(dir, e);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

test('no password in any history, log, report, e-mail or artifact', async () => {
  const info = readLabInfo();
  const csv = usedCsvPasswords();
  const secrets = [
    ...csv,
    info.onprem.imap.admin.password,
    info.onprem.ldap.password,
    info.onprem.dav.admin.password,
    info.cloud.imap.admin.password,
    info.cloud.ldap.password,
    info.cloud.dav.admin.password,
  ];
  const hits: string[] = [];
  const scan = (where: string, bytes: Buffer) => {
    for (const s of secrets) if (bytes.includes(Buffer.from(s, 'utf8'))) hits.push(`${where} holds ${csv.includes(s) ? 'a CSV password' : 'an admin password'}`);
  };

  const session = await testSession();
  let histories = 0;
  let historyBytes = 0;
  try {
    for await (const wf of session.client.workflow.list()) {
      let nextPageToken: Uint8Array | undefined;
      do {
        const page = await session.client.workflowService.getWorkflowExecutionHistory({
          namespace: session.client.options.namespace,
          execution: { workflowId: wf.workflowId, runId: wf.runId },
          nextPageToken,
        });
        const raw = Buffer.from(temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse.encode(page).finish());
        historyBytes += raw.length;
        scan(`history of ${wf.workflowId} (${wf.runId})`, raw);
        nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
      } while (nextPageToken);
      histories++;
    }
  } finally {
    await session.close();
  }

  const mails = filesUnder(info.smtp.messagesDir);
  for (const file of mails) {
    const raw = readFileSync(file);
    scan(file, raw);
    const mail = await simpleParser(raw);
    scan(`${file} (decoded)`, Buffer.from(`${mail.subject ?? ''}\n${mail.text ?? ''}\n${typeof mail.html === 'string' ? mail.html : ''}`));
    for (const a of mail.attachments) scan(`${file} attachment ${a.filename}`, a.content);
  }
  const reports = filesUnder(join(stateDir(), 'reports'));
  for (const file of reports) scan(file, readFileSync(file));
  const artifacts = filesUnder(ARTIFACTS);
  for (const file of artifacts) scan(file, readFileSync(file));
  const logs = artifacts.filter((f) => f.endsWith('.log'));

  await recordVerified(
    {
      fault: 'secrets scan',
      injected: secrets.length,
      injectedHow: 'distinct passwords searched for (every CSV password the suite made + 6 admin/service passwords)',
      figures: `${hits.length} hits in ${histories} histories (${(historyBytes / 1e6).toFixed(1)} MB), ${logs.length} worker logs, ${reports.length} reports, ${mails.length} e-mails, ${artifacts.length} artifacts`,
      notes: [`${csv.length} CSV passwords + 6 admin/service passwords searched`, ...hits],
    },
    () => {
      // the scan saw real material, so "no hit" means something
      expect(csv.length).toBeGreaterThanOrEqual(5);
      expect(histories).toBeGreaterThan(10);
      expect(logs.length).toBeGreaterThan(0);
      expect(reports.length).toBeGreaterThan(0);
      expect(mails.length).toBeGreaterThan(0);
      expect(hits).toEqual([]);
    },
  );
});
