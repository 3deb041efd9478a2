/**
 * `lab:seed`: wipes the organisation users and recreates them from a seed
 * number and a profile; the servers keep running. Records the users (with
 * their passwords and counts) in info.json for tests and the demo.
 */
import { writeLabInfo } from '../describe';
import type { LabInfo } from '../info';
import { resetOrgFlags } from '../org';
import { createOrgUser, wipeOrgUsers } from '../users';
import { EDGE_USERS, NORMAL_USERS, PROFILES, ProfileName } from './profiles';
import { Rng } from './rng';

/** meets the cloud password policy: upper, lower, digit, symbol, 8+ characters */
export function seedPassword(seed: number, address: string): string {
  return `Tsp-${new Rng(`mailferry-lab/${seed}/${address}/password`).hex(10)}-9x`;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export async function seedLab(info: LabInfo, seed: number, profileName: ProfileName, log: (line: string) => void): Promise<LabInfo> {
  const profile = PROFILES[profileName];
  const started = Date.now();
  log(`seeding profile ${profileName} with seed ${seed}`);
  await wipeOrgUsers(info);
  await resetOrgFlags(info);

  const users: NonNullable<LabInfo['seed']>['users'] = [];
  const all = [...NORMAL_USERS, ...EDGE_USERS];
  for (const [i, user] of all.entries()) {
    const normal = i < NORMAL_USERS.length;
    const rng = new Rng(`mailferry-lab/${seed}/${user.address}/count`);
    const password = seedPassword(seed, user.address);
    const counts = await createOrgUser(info, {
      address: user.address,
      displayName: user.displayName,
      password,
      kind: user.kind,
      seed,
      messages: normal ? profile.messages + rng.int(-profile.jitter, profile.jitter) : profile.edgeMessages,
      largeMessages: normal && i < profile.largeMessages ? 1 : 0,
      largeMessageMb: profile.largeMessageMb as [number, number],
      sizeModel: profile.sizeModel,
      contacts: normal ? profile.contacts : 5,
      events: normal ? profile.events : 5,
    });
    users.push({ address: user.address, kind: user.kind, password, ...counts });
    log(`  ${user.address.padEnd(30)} ${user.kind.padEnd(12)} ${String(counts.messages).padStart(5)} messages ${mb(counts.bytes).padStart(9)}  ${counts.contacts} contacts  ${counts.events} events`);
  }

  const seeded: LabInfo = { ...info, seed: { seed, profile: profileName, users } };
  writeLabInfo(seeded);
  const messages = users.reduce((n, u) => n + u.messages, 0);
  const bytes = users.reduce((n, u) => n + u.bytes, 0);
  log(`seed ${seed} (${profileName}): ${users.length} users, ${messages} messages, ${mb(bytes)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return seeded;
}
