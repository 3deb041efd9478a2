/**
 * The lab's token endpoint (lab/oauth/server.ts) as a lab process: Node with
 * tsx's loader, so no build step; its configuration comes from the app
 * registration (lab/oauth/register.ts).
 */
import { ensureRegistration, oauthPaths } from '../oauth/register';
import { spawnDetached } from '../proc';

export async function configureOauth(): Promise<void> {
  await ensureRegistration();
}

export function startOauth(): void {
  const p = oauthPaths();
  spawnDetached('oauth', process.execPath, ['--require', require.resolve('tsx/cjs'), require.resolve('../oauth/server'), p.config], p.log);
}
