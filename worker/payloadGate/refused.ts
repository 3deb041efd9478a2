/**
 * What the worker's codec hands on in place of a payload it would not act on
 * (worker/payloadGate/codec.ts), and the words of the refusal. Loaded into the
 * workflow sandbox too (workflowInterceptors.ts): no Node APIs here.
 */

export type RefusalReason = 'unencrypted' | 'unknownKey' | 'forged' | 'missing';

/** Only the codec makes this value: nothing decrypted with mailferry's key ever has this shape unless a key holder put it there. */
export const REFUSED_FIELD = '$mailferryRefusedPayload';
export type RefusedPayload = { [REFUSED_FIELD]: RefusalReason };

export const PAYLOAD_REFUSED = 'PAYLOAD_REFUSED';

export function refusalOf(value: unknown): RefusalReason | undefined {
  if (typeof value !== 'object' || value === null || !(REFUSED_FIELD in value)) return undefined;
  return (value as RefusedPayload)[REFUSED_FIELD];
}

/** The first refused argument, or `missing` when there is none at all: every mailferry start, signal and update has one. */
export function refusedArgs(args: readonly unknown[]): RefusalReason | undefined {
  if (args.length === 0) return 'missing';
  for (const arg of args) {
    const reason = refusalOf(arg);
    if (reason) return reason;
  }
  return undefined;
}

const why: Record<RefusalReason, string> = {
  unencrypted: 'it is not encrypted with mailferry’s payload key',
  unknownKey: 'it is encrypted with a key id this worker does not have',
  forged: 'it failed authentication under mailferry’s payload key (altered or forged)',
  missing: 'it carries no argument, and mailferry always sends one, encrypted',
};

export function refusalMessage(what: string, reason: RefusalReason): string {
  return (
    `Refused ${what}: ${why[reason]}. Nothing was done. Start, signal and update mailferry workflows with the mailferry CLI, ` +
    'which holds the key; writes from the Temporal Web UI or the temporal CLI are refused by design.'
  );
}
