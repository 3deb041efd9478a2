/**
 * Search filters built from ldapts filter objects, never by string
 * concatenation: an assertion value goes on the wire BER-encoded, so an address
 * such as `*)(mail=*` is compared literally and matches nothing.
 */
import { AndFilter, EqualityFilter, OrFilter, type Filter } from 'ldapts';

export const RECIPIENT_CLASS = 'mfRecipient';

const isRecipient = new EqualityFilter({ attribute: 'objectClass', value: RECIPIENT_CLASS });

/**
 * A recipient whose primary `mail` or any `smtp:` proxy address is `address`.
 * `mail` and `proxyAddresses` compare case-insensitively (as in Exchange), so
 * `smtp:` also finds the primary `SMTP:` value and any spelling of the address.
 */
export function recipientByAddress(address: string, extra: Filter[] = []): Filter {
  return new AndFilter({
    filters: [
      isRecipient,
      new OrFilter({
        filters: [
          new EqualityFilter({ attribute: 'mail', value: address }),
          new EqualityFilter({ attribute: 'proxyAddresses', value: `smtp:${address}` }),
        ],
      }),
      ...extra,
    ],
  });
}

export function recipientTypeIn(types: readonly string[]): Filter {
  return new OrFilter({ filters: types.map((value) => new EqualityFilter({ attribute: 'mfRecipientType', value })) });
}

export function allRecipients(extra: Filter[] = []): Filter {
  return extra.length === 0 ? isRecipient : new AndFilter({ filters: [isRecipient, ...extra] });
}
