import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

// Reports list every mailbox of an organisation and their errors: readable by their owner only.
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Writes a report file mode 0600 (also when it existed before with wider rights), its folder 0700 when new. */
export async function writeReportFile(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: DIR_MODE });
  await writeFile(path, content, { mode: FILE_MODE });
  await chmod(path, FILE_MODE);
}

export function writeReportFileSync(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: DIR_MODE });
  writeFileSync(path, content, { mode: FILE_MODE });
  chmodSync(path, FILE_MODE);
}
