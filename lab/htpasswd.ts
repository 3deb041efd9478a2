/** The Radicale htpasswd files (plain passwords: lab-only secrets, already in info.json). */
import { paths, Side } from './config';
import { removeUsers, upsertUser } from './passwdFile';

export function upsertHtpasswd(side: Side, user: string, password: string): Promise<void> {
  return upsertUser(paths.radicale(side).htpasswd, user, `${user}:${password}`);
}

export function removeHtpasswd(side: Side, user: string): Promise<void> {
  return removeUsers(paths.radicale(side).htpasswd, (u) => u === user);
}
