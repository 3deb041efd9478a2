/** The provisioning steps: verify the MEU, convert it to a mailbox, set forwarding (TargetAddress). */
import { ApplicationFailure } from '@temporalio/common';
import { verifyMeu as checkMeu } from '../connectors/directory/verify';
import type { ConnectionSettings, Sealed } from '../shared/domain';
import type { ActivityDeps } from './deps';
import { translated } from './failures';

export function createDirectoryActivities({ connectors, secrets, logger }: ActivityDeps) {
  const open = (settings: ConnectionSettings) => ({ source: connectors.sourceDirectory(settings), cloud: connectors.cloudDirectory() });
  const closeBoth = (d: ReturnType<typeof open>) => async () => {
    await Promise.allSettled([d.source.close(), d.cloud.close()]);
  };
  const reveal = (password?: Sealed) => (password === undefined ? undefined : secrets.unseal(password));

  return {
    async verifyMeu(input: { settings: ConnectionSettings; address: string; forceChangePassword: boolean; password?: Sealed }) {
      const d = open(input.settings);
      return translated(async () => {
        const found = await checkMeu(d.source, d.cloud, {
          address: input.address,
          forceChangePassword: input.forceChangePassword,
          password: reveal(input.password),
        });
        logger.info({ mailbox: input.address, step: 'verifyMeu', alreadyMailbox: found.alreadyMailbox }, 'MEU verified');
        return { alreadyMailbox: found.alreadyMailbox };
      }, closeBoth(d));
    },

    async convertToMailbox(input: { address: string; forceChangePassword: boolean; password?: Sealed }) {
      const cloud = connectors.cloudDirectory();
      return translated(
        async () => {
          const change = await cloud.convertToMailbox(input.address, {
            password: reveal(input.password),
            forceChangePassword: input.forceChangePassword,
          });
          return { changed: change.changed, detail: change.detail };
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

    /**
     * Sets forwarding to the cloud. The value it replaces goes into the
     * mailbox's record before the write, once: a retry after a successful
     * write, or a re-run, finds mailferry's own value there and the record
     * keeps the true previous one. `previous` is the record's.
     */
    async setTargetAddress(input: { org: string; settings: ConnectionSettings; address: string }) {
      const d = open(input.settings);
      return translated(async () => {
        const routing = d.cloud.routingAddress(input.address);
        const current = (await d.source.findMailbox(input.address))?.targetAddress ?? null;
        const previous =
          current === routing ? undefined : await connectors.ledger.rememberPreviousTargetAddress(input.org, input.address, current);
        const change = await d.source.setTargetAddress(input.address, routing);
        return { changed: change.changed, previous, detail: change.detail };
      }, closeBoth(d));
    },
  };
}
