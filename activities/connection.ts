/**
 * The connection test of the settings (DESIGN 1) and the batch preflight
 * (DESIGN 2): every source protocol answers with the admin's credentials,
 * directory synchronisation is on and the source version is one staged
 * migration supports. Nothing is changed.
 */
import { preflight } from '../connectors/directory/verify';
import type { ConnectionSettings } from '../shared/domain';
import type { ActivityDeps } from './deps';
import { translated } from './failures';

export function createConnectionActivities({ connectors }: ActivityDeps) {
  return {
    async testConnection(input: { settings: ConnectionSettings }): Promise<{ serverVersion: string }> {
      const source = connectors.sourceDirectory(input.settings);
      const cloud = connectors.cloudDirectory(input.settings);
      return translated(
        async () => {
          const { serverVersion } = await preflight(source, cloud);
          await connectors.mail.testLogin(connectors.sourceImap(input.settings, input.settings.adminEmail));
          return { serverVersion };
        },
        async () => {
          await Promise.allSettled([source.close(), cloud.close()]);
        },
      );
    },
  };
}
