/** Small helpers the lab-backed connector suites share. */
import { createCloudDirectory, createSourceDirectory } from '../../connectors/directory';
import type { LabInfo } from '../../lab/info';
import { DOMAINS } from '../../lab/config';
import { errorCodes, MailferryError, type ErrorCode } from '../../shared/errors';

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

/** The MailferryError a call fails with, checked for its code, its fix and (when given) the address in its message. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode, address?: string): Promise<MailferryError> {
  const error = await errorOf(promise);
  if (!(error instanceof MailferryError)) throw error;
  expect(error.code).toBe(code);
  expect(error.fix).toBe(errorCodes[code]);
  if (address) expect(error.message).toContain(address);
  return error;
}
