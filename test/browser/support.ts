/**
 * For the browser test: the codec server as a real child process (as an SRE
 * runs it) and Debian's Chromium driven by playwright-core with a fresh
 * profile and none of its background traffic (updates, sync, QUIC), and
 * screenshots kept under test-artifacts/browser/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../helpers/backbone';

export const ARTIFACTS = join(ROOT, 'test-artifacts', 'browser');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** Screenshots of this run only, so none of an earlier run is mistaken for this one's. */
export function resetArtifacts(): void {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
}

export interface CodecServerProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** `tsx worker/codecServer.ts` on a free port; resolves with its URL once it listens. */
export async function startCodecServer(env: NodeJS.ProcessEnv): Promise<CodecServerProcess> {
  const child: ChildProcess = spawn(TSX, [join(ROOT, 'worker', 'codecServer.ts')], {
    env: { ...env, MAILFERRY_CODEC_SERVER_PORT: '0', MAILFERRY_CODEC_SERVER_HOST: '127.0.0.1', MAILFERRY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`codec server did not listen in 60 s:\n${out}`)), 60_000);
    child.stdout!.on('data', () => {
      const line = out.split('\n').find((l) => l.includes('"codec server listening"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`codec server exited (${code}) before listening:\n${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Headless Debian Chromium with a fresh profile (nothing remembered from another run). */
export async function openBrowser(): Promise<Browser> {
  const executablePath = process.env.MAILFERRY_CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`No Chromium at ${executablePath}: install Debian's package (apt-get install -y chromium) or set MAILFERRY_CHROMIUM_PATH.`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'mailferry-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1440, height: 1200 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async screenshot(name) {
      // the viewport, not fullPage: the UI scrolls inside its own container, so the caller scrolls what matters into view
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * What an SRE does once per browser: in the Web UI's "Codec Server" dialog
 * (the icon in the top bar), choose "Use my browser setting" and enter the
 * endpoint with the token. The UI keeps it in this browser's localStorage.
 */
export async function useCodecEndpoint(page: Page, uiUrl: string, endpoint: string): Promise<void> {
  await page.goto(`${uiUrl}/namespaces/default/workflows`);
  await page.locator('[data-testid^="data-encoder-status"]').click();
  const dialog = page.getByRole('dialog').filter({ hasText: 'Use my browser setting' });
  await dialog.locator('#use-local-endpoint-radio').check();
  await dialog.getByLabel('Codec Server browser endpoint').fill(endpoint);
  await dialog.getByRole('button', { name: 'Apply' }).click();
  await dialog.waitFor({ state: 'hidden' });
}
