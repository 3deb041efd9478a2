/**
 * mailferry's own MAPI named properties on the items it creates: the source
 * UID (what a re-run looks up before creating, so nothing is created twice)
 * and, for events created without their attendees, the attendee list.
 * A fixed GUID namespace, so every run and every worker names the same property.
 */
export const PROPERTY_SET = 'f25a16db-fd6c-4407-a2f0-a8676c9a2188';

export const SOURCE_UID = `String {${PROPERTY_SET}} Name SourceUid`;
export const ATTENDEES = `String {${PROPERTY_SET}} Name Attendees`;

/** OData string literal: a quote inside is doubled */
export const odataString = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** The $filter that finds the item carrying a source UID. */
export function uidFilter(uid: string): string {
  return `singleValueExtendedProperties/any(ep: ep/id eq ${odataString(SOURCE_UID)} and ep/value eq ${odataString(uid)})`;
}
