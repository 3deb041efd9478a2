/**
 * Search filters built from ldapts filter objects, never by string
 * concatenation: an assertion value goes on the wire BER-encoded, so an address
 * such as `*)(mail=*` is compared literally and matches nothing (in AD as in
 * OpenLDAP; NUL and backslashes are octets like any other).
 */
import { AndFilter, EqualityFilter, OrFilter, type Filter } from 'ldapts';
import type { AttributeMap } from './attributeMap';

const isRecipient = (map: AttributeMap) => new EqualityFilter({ attribute: 'objectClass', value: map.recipientClass });

/**
 * A recipient whose primary `mail` or any `smtp:` proxy address is `address`.
 * `mail` and `proxyAddresses` compare case-insensitively (as in Exchange), so
 * `smtp:` also finds the primary `SMTP:` value and any spelling of the address.
 */
export function recipientByAddress(map: AttributeMap, address: string, extra: Filter[] = []): Filter {
  return new AndFilter({
    filters: [
      isRecipient(map),
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

export function allRecipients(map: AttributeMap, extra: Filter[] = []): Filter {
  return extra.length === 0 ? isRecipient(map) : new AndFilter({ filters: [isRecipient(map), ...extra] });
}
