/**
 * All activities, built from injected connectors (samples-typescript's
 * `createActivities(deps)`): the worker passes real ones, and workflows proxy
 * `ReturnType<typeof createActivities>` without importing this code.
 */
import { createAdminActivities } from './admin';
import { createConnectionActivities } from './connection';
import type { ActivityDeps } from './deps';
import { createDirectoryActivities } from './directory';
import { createFinishActivities } from './finish';
import { createLedgerActivities } from './ledger';
import { createMailDataActivities } from './mailData';
import { createReportActivities } from './reports';
import { createRowActivities } from './rows';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createConnectionActivities(deps),
    ...createRowActivities(deps),
    ...createDirectoryActivities(deps),
    ...createMailDataActivities(deps),
    ...createReportActivities(deps),
    ...createFinishActivities(deps),
    ...createLedgerActivities(deps),
    ...createAdminActivities(deps),
  };
}

export type { ActivityDeps, Connectors } from './deps';
