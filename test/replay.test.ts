/**
 * Workflow code stays deterministic: histories recorded from real runs
 * (test/fixtures/histories, re-recorded by `npm run replay:record`, see
 * test/fixtures/record-histories.ts) replay against today's workflow code
 * without a nondeterminism error, and between them they show every workflow
 * type and every path the recorder names.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { dataConverterOptions, loadCodec } from '../shared/codec';
import * as workflows from '../workflows';
import { HISTORIES_DIR, MANIFEST_FILE, REPLAY_KEY_FILE, REQUIRED_PATHS, type RecordedHistory } from './fixtures/record-histories';

const manifest = JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as RecordedHistory[];
const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json') && join(HISTORIES_DIR, f) !== MANIFEST_FILE);
const read = (dir: string, f: string) => ({ file: f, history: historyFromJSON(JSON.parse(readFileSync(join(dir, f), 'utf8'))) });
const histories = files.map((f) => read(HISTORIES_DIR, f));
/**
 * Runs of the long-lived workflows (an organisation, a mailbox's record: open for the weeks of a migration, and a
 * batch: open for days) recorded by the code before the latest workflow change: a deployment finds such runs open,
 * so today's code must replay them (old branches kept behind patched()). Re-recording replaces only the histories
 * above; these are replaced by hand, with the code they were recorded on named in the folder's README.
 */
const RELEASED_DIR = join(__dirname, 'fixtures', 'released-histories');
const released = readdirSync(RELEASED_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => read(RELEASED_DIR, f));

async function replayFails(list: typeof histories): Promise<{ failed: string[]; replayed: number }> {
  const { codec } = loadCodec({ MAILFERRY_CODEC_KEY_FILE: REPLAY_KEY_FILE });
  const results = Worker.runReplayHistories(
    { workflowsPath: require.resolve('../workflows'), dataConverter: dataConverterOptions(codec), replayName: 'mailferry-replay' },
    // the recorded workflow ID: every workflow checks that its input belongs to it (workflows/identity.ts)
    list.map((h) => ({ workflowId: h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId ?? h.file, history: h.history })),
  );
  const failed: string[] = [];
  let replayed = 0;
  for await (const result of results) {
    replayed++;
    if (result.error) failed.push(`${result.workflowId}: ${result.error.message}`);
  }
  return { failed, replayed };
}

test('the histories show every workflow type and every path the recorder names', () => {
  expect(manifest.map((m) => m.file).sort()).toEqual([...files].sort());
  const typeOf = (h: (typeof histories)[number]) => h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
  for (const h of histories) expect([h.file, typeOf(h)]).toEqual([h.file, manifest.find((m) => m.file === h.file)?.type]);
  expect([...new Set(histories.map(typeOf))].sort()).toEqual(Object.keys(workflows).sort());
  expect([...new Set(manifest.flatMap((m) => m.paths))].sort()).toEqual([...REQUIRED_PATHS].sort());
  // a run said to continue-as-new does end so
  const continued = temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW;
  for (const m of manifest.filter((x) => x.paths.some((p) => p.endsWith('continue-as-new'))))
    expect([m.file, histories.find((h) => h.file === m.file)?.history.events?.at(-1)?.eventType]).toEqual([m.file, continued]);
});

test('every recorded history replays on the current workflow code', async () => {
  expect(await replayFails(histories)).toEqual({ failed: [], replayed: files.length });
}, 120_000);

test('open runs of the long-lived workflows, recorded by the code before, replay on the current code', async () => {
  const types = new Set(released.map((h) => h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name));
  expect([...types].sort()).toEqual(['batchWorkflow', 'mailboxRecordWorkflow', 'organisationWorkflow']);
  expect(await replayFails(released)).toEqual({ failed: [], replayed: released.length });
}, 120_000);
