import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The custom search attributes an SRE filters on in the Web UI
 * (e.g. `MailferryMailbox = "ann@contoso.com"`). This list is the only place
 * they are named: deploy/temporal/namespace.ts registers them from it for the
 * dev server, the PostgreSQL cluster and docker-compose.yml alike.
 */
export const MailferryOrg = defineSearchAttributeKey('MailferryOrg', SearchAttributeType.KEYWORD);
export const MailferryBatch = defineSearchAttributeKey('MailferryBatch', SearchAttributeType.INT);
export const MailferryMailbox = defineSearchAttributeKey('MailferryMailbox', SearchAttributeType.KEYWORD);
export const MailferryStep = defineSearchAttributeKey('MailferryStep', SearchAttributeType.KEYWORD);
export const MailferryState = defineSearchAttributeKey('MailferryState', SearchAttributeType.KEYWORD);
export const MailferryFailureKind = defineSearchAttributeKey('MailferryFailureKind', SearchAttributeType.KEYWORD);

export const mailferrySearchAttributes = [
  MailferryOrg,
  MailferryBatch,
  MailferryMailbox,
  MailferryStep,
  MailferryState,
  MailferryFailureKind,
] as const;

/** The type names the Temporal CLI and admin tools expect (`--type Keyword`). */
export const cliTypeName: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** `NAME=Type` pairs, as `temporal server start-dev --search-attribute` takes them. */
export function searchAttributeCliPairs(): string[] {
  return mailferrySearchAttributes.map((key) => `${key.name}=${cliTypeName[key.type]}`);
}
