/** The lab's command line: `npm run lab:up|lab:seed|lab:down|lab:info` (and `tsx lab/cli.ts status`). */
import { Command, InvalidArgumentError } from 'commander';
import { labDown } from './down';
import { createSeededTenant } from './graph/control';
import { LabNotRunningError, readLabInfo } from './info';
import { PROFILES, ProfileName } from './seed/profiles';
import { seedLab } from './seed/seed';
import { labStatus } from './status';
import { labUp } from './up';

const log = (line: string) => console.log(line);

// `lab:up | head -1` closes our stdout early; that is not a failure of the lab
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

async function answeringInfo() {
  const info = readLabInfo();
  const down = (await labStatus(info)).filter((s) => s.problem !== null);
  if (down.length > 0) throw new LabNotRunningError(down.map((s) => `${s.name}: ${s.problem}`).join('; '));
  return info;
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('not an integer');
  return n;
}

function profile(value: string): ProfileName {
  if (!(value in PROFILES)) throw new InvalidArgumentError(`one of ${Object.keys(PROFILES).join(', ')}`);
  return value as ProfileName;
}

const program = new Command('lab').description('local lab servers for mailferry (loopback only, state in .lab/)');

program
  .command('up')
  .description('install missing Debian packages and start every lab server that is not answering')
  .action(async () => {
    await labUp(log);
  });

program
  .command('seed')
  .description('wipe and recreate the organisation users, deterministically from a seed')
  .option('--seed <n>', 'seed number', integer, 42)
  .option('--profile <name>', 'small | default | bench', profile, 'default' as ProfileName)
  .action(async (options: { seed: number; profile: ProfileName }) => {
    await seedLab(await answeringInfo(), options.seed, options.profile, log);
  });

program
  .command('tenant')
  .description("(re)create the lab's Microsoft 365 tenant in the Graph stand-in (in memory: again after each up), holding the seeded users' MEUs")
  .option('--provisioning-delay <seconds>', 'how long a licensed mailbox takes to appear', integer, 5)
  .action(async (options: { provisioningDelay: number }) => {
    const { tenant } = await createSeededTenant(await answeringInfo(), options.provisioningDelay * 1000);
    log(`lab tenant ${tenant}: the seeded users' MEUs, mailboxes ${options.provisioningDelay} s after their licence`);
  });

program
  .command('down')
  .description('stop every lab process (data stays in .lab)')
  .action(async () => {
    await labDown(log);
  });

program
  .command('info')
  .description('print .lab/info.json (only when every server answers)')
  .action(async () => {
    console.log(JSON.stringify(await answeringInfo(), null, 2));
  });

program
  .command('status')
  .description('which lab servers run and answer')
  .action(async () => {
    const statuses = await labStatus(readLabInfo());
    for (const s of statuses) console.log(`${s.name.padEnd(16)} ${String(s.pid ?? '-').padEnd(8)} ${s.problem ?? 'answers'}`);
    if (statuses.some((s) => s.problem !== null)) process.exitCode = 1;
  });

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
