/** The provisioning steps: verify the MEU, convert it to a mailbox, set forwarding (TargetAddress). */
import { verifyMeu as checkMeu } from '../connectors/directory/verify';
import type { ConnectionSettings, Sealed } from '../workflows/definitions';
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

    async setTargetAddress(input: { settings: ConnectionSettings; address: string }) {
      const d = open(input.settings);
      return translated(async () => {
        const change = await d.source.setTargetAddress(input.address, d.cloud.routingAddress(input.address));
        return { changed: change.changed, previous: change.previous, detail: change.detail };
      }, closeBoth(d));
    },
  };
}
