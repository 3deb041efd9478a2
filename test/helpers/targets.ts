/**
 * The three mail targets every copy-correctness test runs against: plain
 * Dovecot, a target that rewrites what it stores (as Exchange Online does)
 * and one without MULTIAPPEND, the last two made from the cloud Dovecot by
 * the lab's IMAP relay. Each is judged by the verifier mode that fits it:
 * bytes, or on the rewriting target Message-ID, INTERNALDATE, flags and the
 * count per folder, since its bytes differ by design.
 */
import type { ImapRelayOptions } from '../../lab/relays/imap';
import type { VerifyOptions } from '../../lab/verify';

export const TARGETS: Array<[string, ImapRelayOptions]> = [
  ['plain Dovecot', {}],
  ['a target that rewrites messages', { rewrite: true }],
  ['a target without MULTIAPPEND', { hide: ['MULTIAPPEND'] }],
];

/** how the verifier identifies a message on this target */
export function compareOn(options: ImapRelayOptions): NonNullable<VerifyOptions['compare']> {
  return options.rewrite ? 'message-id' : 'bytes';
}

/** the verifier's mode in words, for the lines a test prints */
export function verifierIn(options: ImapRelayOptions): string {
  return options.rewrite ? 'by Message-ID, INTERNALDATE, flags, count' : 'by bytes, INTERNALDATE, flags, count';
}
