/** The provisioning steps: verify the MEU, convert it to a mailbox, set forwarding (TargetAddress); rollback and mail-user conversion. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { verifyMeu as checkMeu, type MeuFound } from '../connectors/directory/verify';
import { MailferryError } from '../shared/errors';
import type { ConnectionSettings, ProvisioningProgress, ProvisioningStep, Sealed } from '../shared/domain';
import type { ActivityDeps } from './deps';
import { asFailure, translated } from './failures';

interface ProvisionInput {
  org: string;
  settings: ConnectionSettings;
  address: string;
  forceChangePassword: boolean;
  password?: Sealed;
  /** the sub-step the row resumes at (its record's failed step); a retry of this activity goes on from its heartbeat */
  from: ProvisioningStep;
}

export function createDirectoryActivities({ connectors, secrets, logger }: ActivityDeps) {
  const open = (settings: ConnectionSettings) => ({ source: connectors.sourceDirectory(settings), cloud: connectors.cloudDirectory(settings) });
  const closeBoth = (d: ReturnType<typeof open>) => async () => {
    await Promise.allSettled([d.source.close(), d.cloud.close()]);
  };
  const reveal = (password?: Sealed) => (password === undefined ? undefined : secrets.unseal(password));

  const steps = {
    async verifyMeu(d: ReturnType<typeof open>, input: ProvisionInput) {
      const found = await checkMeu(d.source, d.cloud, {
        address: input.address,
        forceChangePassword: input.forceChangePassword,
        password: reveal(input.password),
      });
      logger.info({ mailbox: input.address, step: 'verifyMeu', alreadyMailbox: found.alreadyMailbox }, 'MEU verified');
      return found;
    },

    /** `pending`: the conversion takes effect later (Microsoft 365: the licence is assigned, the mailbox follows) */
    async convertToMailbox(d: ReturnType<typeof open>, input: ProvisionInput) {
      const change = await d.cloud.convertToMailbox(input.address, {
        password: reveal(input.password),
        forceChangePassword: input.forceChangePassword,
      });
      return { pending: change.pending === true };
    },

    /**
     * Sets forwarding to the cloud. The value it replaces goes into the
     * mailbox's record before the write, once: a retry after a successful
     * write, or a re-run, finds mailferry's own value there and the record
     * keeps the true previous one. `previous` is the record's. No
     * targetAddress (the usual on-premises mailbox) needs no round trip to
     * the record first: a record that keeps none restores none (rollback
     * clears it), so a run lost after the write loses nothing, and the
     * run's outcome brings the record its null. `read`: the source mailbox as verifyMeu read it in
     * this attempt (the conversion between changes only the cloud side), so it is not read again.
     */
    async setTargetAddress(d: ReturnType<typeof open>, input: ProvisionInput, read?: { targetAddress: string | null }) {
      const routing = d.cloud.routingAddress(input.address);
      const current = (read ?? (await d.source.findMailbox(input.address)))?.targetAddress ?? null;
      const previous =
        current === routing ? undefined : current === null ? null : await connectors.ledger.rememberPreviousTargetAddress(input.org, input.address, current);
      await d.source.setTargetAddress(input.address, routing);
      return previous;
    },
  };

  return {
    /**
     * The provisioning steps (verifyMeu → convertToMailbox → setTargetAddress) from `from` on, in one activity task:
     * each sub-step is idempotent. Entering setTargetAddress after a conversion is heartbeated, so a retry (a killed
     * worker, a directory briefly away) resumes there instead of converting again; verifyMeu changes nothing, so it
     * is not recorded (the only heartbeat of an attempt is the first, which the SDK sends at once, unthrottled). A
     * failure names its sub-step in its details, and the record keeps it as the failed step. `pending`: Microsoft 365
     * creates the mailbox later; the workflow waits (awaitMailbox) and calls again from setTargetAddress.
     */
    async provisionMailbox(input: ProvisionInput): Promise<{ reached: ProvisioningStep; pending: boolean; previous?: string | null }> {
      const ctx = Context.current();
      const resumed = (ctx.info.heartbeatDetails as ProvisioningProgress | undefined)?.step;
      const d = open(input.settings);
      let step: ProvisioningStep = resumed ?? input.from;
      let verified: MeuFound | undefined;
      try {
        if (step === 'verifyMeu') {
          verified = await steps.verifyMeu(d, input);
          step = 'convertToMailbox';
        }
        if (step === 'convertToMailbox') {
          if ((await steps.convertToMailbox(d, input)).pending) return { reached: step, pending: true };
          step = 'setTargetAddress';
          ctx.heartbeat({ step } satisfies ProvisioningProgress);
        }
        return { reached: step, pending: false, previous: await steps.setTargetAddress(d, input, verified?.source) };
      } catch (err) {
        throw asFailure(err, { step } satisfies ProvisioningProgress);
      } finally {
        await closeBoth(d)();
      }
    },

    /**
     * One look at whether the cloud mailbox exists yet. While it does not,
     * this fails retryably (MAILBOX_PROVISIONING) and the workflow's retry
     * policy looks again later, so the wait is durable: a worker restart
     * costs one look. It fails for good when the provisioning timeout has
     * passed since the licence was assigned, or in the synced-msExchMailboxGuid
     * case, where no mailbox will ever come.
     */
    async awaitMailbox(input: { settings: ConnectionSettings; address: string; timeoutMinutes: number }) {
      const cloud = connectors.cloudDirectory(input.settings);
      return translated(
        async () => {
          const status = (await cloud.mailboxStatus?.(input.address)) ?? { state: 'ready' as const };
          if (status.state === 'ready') {
            logger.info({ mailbox: input.address, step: 'convertToMailbox' }, 'cloud mailbox exists');
            return { ready: true };
          }
          if (status.state === 'exchangeGuidSynced') throw new MailferryError('EXCHANGE_GUID_SYNCED', status.detail);
          const since = status.since === null ? null : Date.parse(status.since);
          if (since !== null && Date.now() - since > input.timeoutMinutes * 60_000) {
            throw new MailferryError(
              'PROVISIONING_TIMEOUT',
              `Exchange Online has not created the mailbox of ${input.address} in the ${input.timeoutMinutes} minutes since its licence was assigned (${status.since}).`,
            );
          }
          throw new MailferryError('MAILBOX_PROVISIONING', `Waiting for Exchange Online to create the mailbox of ${input.address} (licence assigned ${status.since ?? 'at an unknown time'}).`, {
            permanent: false,
          });
        },
        () => cloud.close(),
      );
    },

    /** rollback: the targetAddress before mailferry set it (none: cleared), so mail is delivered on-premises again */
    async restoreTargetAddress(input: { settings: ConnectionSettings; address: string; previous: string | null }) {
      const source = connectors.sourceDirectory(input.settings);
      return translated(
        async () => {
          const change = await source.restoreTargetAddress(input.address, input.previous);
          logger.info({ mailbox: input.address, step: 'rollback', changed: change.changed }, 'targetAddress restored');
          return { changed: change.changed, detail: change.detail };
        },
        () => source.close(),
      );
    },

    /** seed step 5: the migrated on-premises mailbox becomes a mail user that keeps the cloud's proxy addresses */
    async convertToMailUser(input: { settings: ConnectionSettings; address: string }) {
      const d = open(input.settings);
      return translated(async () => {
        const cloud = await d.cloud.findRecipient(input.address);
        if (!cloud)
          throw ApplicationFailure.create({
            type: 'MEU_NOT_FOUND',
            message: `The cloud organisation has no recipient ${input.address}.`,
            nonRetryable: true,
          });
        const change = await d.source.convertToMailUser(input.address, cloud);
        logger.info({ mailbox: input.address, step: 'convertToMailUser', changed: change.changed }, 'converted to mail user');
        return { changed: change.changed, detail: change.detail };
      }, closeBoth(d));
    },
  };
}
