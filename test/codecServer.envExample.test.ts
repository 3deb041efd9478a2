/**
 * .env.example is the operator's list of settings: it must name every
 * variable the worker and the codec server validate, and its example values
 * must pass that validation (except the codec server token, which has no
 * usable default on purpose).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWorkerEnv, workerEnvSchema } from '../worker/config';
import { codecServerEnvSchema, loadCodecServerEnv } from '../worker/codecServer/config';

const example = readFileSync(join(__dirname, '..', '.env.example'), 'utf8');
const assignments = [...example.matchAll(/^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/gm)];
const documented = new Set(assignments.map((m) => m[2]));
const values: NodeJS.ProcessEnv = Object.fromEntries(assignments.filter((m) => !m[1]).map((m) => [m[2], m[3]]));

test('.env.example names every variable of the worker, the codec server and the payload key', () => {
  const read = [
    ...Object.keys(workerEnvSchema.shape),
    ...Object.keys(codecServerEnvSchema.shape),
    'MAILFERRY_CODEC_KEY',
    'MAILFERRY_CODEC_KEY_FILE',
    'MAILFERRY_CODEC_KEY_ID',
    'MAILFERRY_CODEC_PREVIOUS_KEYS',
    'MAILFERRY_CODEC_PREVIOUS_KEYS_FILE',
  ];
  expect(read.filter((name) => !documented.has(name))).toEqual([]);
});

test('its payload key settings load as it says: the current key plus earlier keys by id', () => {
  const keyVars = ['MAILFERRY_CODEC_KEY', 'MAILFERRY_CODEC_KEY_FILE', 'MAILFERRY_CODEC_KEY_ID', 'MAILFERRY_CODEC_PREVIOUS_KEYS', 'MAILFERRY_CODEC_PREVIOUS_KEYS_FILE'];
  const set = keyVars.filter((name) => values[name] !== undefined);
  // shipped: the key file and its id; earlier keys only once there has been a rotation
  expect(set).toEqual(['MAILFERRY_CODEC_KEY_FILE', 'MAILFERRY_CODEC_KEY_ID']);
  expect(example).toMatch(/^# MAILFERRY_CODEC_PREVIOUS_KEYS_FILE=\.\/codec\.previous-keys$/m);
  expect(example).toMatch(/docs\/production\.md/);
});

test('its values pass the worker and codec server validation; the token must be filled in', () => {
  expect(() => loadWorkerEnv(values)).not.toThrow();
  expect(() => loadCodecServerEnv(values)).toThrow(/MAILFERRY_CODEC_SERVER_TOKEN/);
  expect(loadCodecServerEnv({ ...values, MAILFERRY_CODEC_SERVER_TOKEN: randomBytes(32).toString('hex') }).MAILFERRY_CODEC_SERVER_PORT).toBe(8888);
});
