/**
 * Cloud mailbox passwords: the CSV's policy check and the stored hash.
 */
import { createHash, randomBytes } from 'node:crypto';

const CLASSES = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/];

/** At least 8 characters and three of: upper case, lower case, digit, symbol. */
export function meetsPasswordPolicy(password: string): boolean {
  return password.length >= 8 && CLASSES.filter((re) => re.test(password)).length >= 3;
}

/**
 * `{SSHA}` (salted SHA-1, RFC 2307 style): the scheme slapd verifies on a
 * simple bind without loading any module, and the cloud Dovecot authenticates
 * users by binding. Hashing here rather than through the Password Modify
 * extended operation keeps the whole conversion one atomic modify.
 */
export function sshaHash(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}
