/** `reports open`: a batch's report files grouped by folder (one per report kind), and whether this host can read them. */
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface ReportFolders {
  folders: { folder: string; files: { name: string; path: string; here: boolean }[] }[];
}

export function reportFolders(paths: string[]): ReportFolders {
  const byFolder = new Map<string, ReportFolders['folders'][number]['files']>();
  for (const path of paths) {
    const files = byFolder.get(dirname(path)) ?? [];
    files.push({ name: basename(path), path, here: existsSync(path) });
    byFolder.set(dirname(path), files);
  }
  return { folders: [...byFolder].map(([folder, files]) => ({ folder, files })) };
}
