/** Message-level copy rules the admin sets: how old and how large a message may be. */
import type { MessageMeta } from './identity';

export interface MessageRules {
  maxAgeDays?: number;
  maxMessageBytes?: number;
}

/** Why the rules leave this message out, or undefined when it is copied. */
export function skipReason(m: MessageMeta, rules: MessageRules, now: number): string | undefined {
  if (rules.maxMessageBytes !== undefined && m.size > rules.maxMessageBytes) {
    return `larger than the ${rules.maxMessageBytes}-byte limit of the copy`;
  }
  if (rules.maxAgeDays !== undefined && m.internalDate < now - rules.maxAgeDays * 86_400_000) {
    return `older than ${rules.maxAgeDays} days`;
  }
  return undefined;
}
