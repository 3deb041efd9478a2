/** The README's Performance table is what bench/readme.ts renders from the newest full bench results file. */
import { readFileSync } from 'node:fs';
import { currentTable, expectedTable, README } from '../bench/readme';

test('README Performance table equals the rendering of the newest bench/results file', () => {
  const table = currentTable(readFileSync(README, 'utf8'));
  expect(table).not.toBe('');
  expect(table).toBe(expectedTable());
});
