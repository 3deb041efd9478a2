/** Small helpers the lab-backed connector suites share. */
import { createCloudDirectory, createSourceDirectory } from '../../connectors/directory';
import type { LabInfo } from '../../lab/info';
import { DOMAINS } from '../../lab/config';

/** The error a call fails with; the test fails if it succeeds. */
export async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** Both lab directories through the real connectors, as the worker wires them. */
export function labDirectories(info: LabInfo) {
  return {
    source: createSourceDirectory(info.onprem.ldap),
    cloud: createCloudDirectory({ ...info.cloud.ldap, routingDomain: DOMAINS.routing }),
  };
}
