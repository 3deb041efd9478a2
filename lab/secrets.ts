/**
 * Lab-only passwords, generated at the first `up` and kept in `.lab` so a
 * restarted lab keeps its credentials (tests and the demo read them from info.json).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { paths } from './config';

const secretsSchema = z.object({
  imapAdmin: z.object({ onprem: z.string(), cloud: z.string() }),
  ldapRoot: z.object({ onprem: z.string(), cloud: z.string() }),
});
export type LabSecrets = z.infer<typeof secretsSchema>;

/** letters and digits only: these go into config files without quoting */
function password(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 20) + 'Aa1';
}

export function loadOrCreateSecrets(): LabSecrets {
  if (existsSync(paths.secrets)) return secretsSchema.parse(JSON.parse(readFileSync(paths.secrets, 'utf8')));
  const secrets: LabSecrets = {
    imapAdmin: { onprem: password(), cloud: password() },
    ldapRoot: { onprem: password(), cloud: password() },
  };
  mkdirSync(dirname(paths.secrets), { recursive: true });
  writeFileSync(paths.secrets, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
