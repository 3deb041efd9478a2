/**
 * Workflow code stays deterministic: histories recorded from real runs
 * (test/fixtures/histories, see record-histories.ts) replay against today's
 * workflow code without a nondeterminism error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { dataConverterOptions, loadCodec } from '../shared/codec';
import { HISTORIES_DIR, REPLAY_KEY_FILE } from './fixtures/record-histories';

const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));

test('recorded histories cover every workflow type', () => {
  const types = new Set(files.map((f) => f.replace(/-\d+\.json$/, '')));
  expect([...types].sort()).toEqual(['batchWorkflow', 'mailboxRecordWorkflow', 'mailboxWorkflow', 'organisationWorkflow', 'reportMailWorkflow']);
});

test('every recorded history replays on the current workflow code', async () => {
  const { codec } = loadCodec({ MAILFERRY_CODEC_KEY_FILE: REPLAY_KEY_FILE });
  const histories = files.map((f) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, f), 'utf8')));
    // the recorded workflow ID: every workflow checks that its input belongs to it (workflows/identity.ts)
    const workflowId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId ?? f;
    return { workflowId, history };
  });
  const results = Worker.runReplayHistories(
    { workflowsPath: require.resolve('../workflows'), dataConverter: dataConverterOptions(codec), replayName: 'mailferry-replay' },
    histories,
  );
  let replayed = 0;
  for await (const result of results) {
    expect(result.error).toBeUndefined();
    replayed++;
  }
  expect(replayed).toBe(files.length);
}, 120_000);
