/** The set-up commands: `mailferry init` (write an installation's .env and key) and `mailferry doctor` (check it). */
import type { Command } from 'commander';
import { doctorExit, endpointCheck, formatChecks, runDoctor, urlEndpoint, type Check } from './doctor';
import { installationEnv, nextSteps, writeInstallation, type InitOptions } from './init';

const hostPort = (v: string) => {
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i), port: Number(v.slice(i + 1)) };
};

export function registerSetupCommands(program: Command, org: () => string): void {
  const chosenOrg = () => {
    try {
      return org();
    } catch {
      return undefined;
    }
  };
  const envFileOption = () => program.opts<{ envFile?: string }>().envFile;

  program
    .command('doctor')
    .description('check everything a batch needs: settings file, key, Temporal server, search attributes, worker, organisation, endpoints')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const checks = await runDoctor(envFileOption(), chosenOrg());
      console.log(opts.json ? JSON.stringify(checks, null, 2) : formatChecks(checks));
      doctorExit(checks);
    });

  program
    .command('init')
    .description('write a .env and a payload key for an installation (flags, or questions in a terminal), then check them')
    .option('--out <file>', 'the settings file to write', '.env')
    .option('--force', 'replace an existing settings file (the key file is never replaced)')
    .option('--lab', 'take the target and source from the running lab (npm run lab:up)')
    .option('--temporal-address <host:port>', 'Temporal frontend')
    .option('--namespace <name>', 'Temporal namespace', 'default')
    .option('--task-queue <name>', 'the task queue of the workers')
    .option('--cloud-ldap-url <url>', 'target directory (ldaps://…)')
    .option('--cloud-ldap-base-dn <dn>', 'target directory base DN')
    .option('--cloud-ldap-bind-dn <dn>', 'target directory bind DN (password: MAILFERRY_CLOUD_LDAP_PASSWORD)')
    .option('--routing-domain <domain>', 'the domain TargetAddress points at')
    .option('--cloud-imap <host:port>', 'target IMAP (password: MAILFERRY_CLOUD_IMAP_PASSWORD)')
    .option('--cloud-imap-tls', 'implicit TLS for the target IMAP')
    .option('--cloud-imap-master-user <name>', 'target IMAP master user')
    .option('--cloud-dav-url <url>', 'target CalDAV/CardDAV (password: MAILFERRY_CLOUD_DAV_PASSWORD)')
    .option('--cloud-dav-user <name>', 'target CalDAV/CardDAV admin')
    .option('--smtp <host:port>', 'SMTP relay for the report e-mails')
    .option('--smtp-tls', 'implicit TLS for SMTP (port 465)')
    .option('--report-from <address>', 'sender of the report e-mails')
    .option('--source-imap <host:port>', 'source IMAP (checked here, saved by `mailferry settings set`)')
    .option('--source-ldap-url <url>', 'source directory')
    .option('--source-dav-url <url>', 'source CalDAV/CardDAV')
    .action(async (opts: InitOptions) => {
      const written = await writeInstallation({ ...opts, org: program.opts<{ org?: string }>().org });
      console.log(`Wrote ${written.envFile} and the key ${written.keyFile} (back it up).`);
      const env = installationEnv(written.envFile);
      const checks: Check[] = (await runDoctor(written.envFile, env.MAILFERRY_ORG, env)).filter((c) => c.name !== 'organisation');
      const { imap, ldapUrl, davUrl } = written.source;
      if (imap) checks.push(await endpointCheck('source IMAP', hostPort(imap), 'check the address'));
      if (ldapUrl) checks.push(await endpointCheck('source directory', urlEndpoint(ldapUrl), 'check the URL'));
      if (davUrl) checks.push(await endpointCheck('source CalDAV/CardDAV', urlEndpoint(davUrl), 'check the URL'));
      console.log(formatChecks(checks));
      console.log(nextSteps(written.envFile, written.source));
      // A worker that is not started yet is the expected state right after init.
      doctorExit(checks.filter((c) => c.name !== 'worker'));
    });
}
