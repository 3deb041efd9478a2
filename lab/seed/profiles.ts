/** Who the seeded organisation holds, per profile. */
import type { LabUserKind } from '../info';

export interface SeedUser {
  address: string;
  displayName: string;
  kind: LabUserKind;
}

export const NORMAL_USERS: SeedUser[] = [
  { address: 'pilarp@tailspintoys.com', displayName: 'Pilar Pinilla', kind: 'normal' },
  { address: 'tobyn@tailspintoys.com', displayName: 'Toby Nixon', kind: 'normal' },
  { address: 'iant@tailspintoys.com', displayName: 'Ian Tien', kind: 'normal' },
  { address: 'annab@tailspintoys.com', displayName: 'Anna Bedecs', kind: 'normal' },
  { address: 'marcusk@tailspintoys.com', displayName: 'Marcus Kim', kind: 'normal' },
];

/** one user per row-validation rule of a batch */
export const EDGE_USERS: SeedUser[] = [
  { address: 'nomeu@tailspintoys.com', displayName: 'Nora Nomeu', kind: 'no-meu' },
  { address: 'umuser@tailspintoys.com', displayName: 'Uma Umuser', kind: 'um-enabled' },
  { address: 'fedu@fed.tailspintoys.com', displayName: 'Fede Federated', kind: 'federated' },
  { address: 'olduser@legacy-contoso.test', displayName: 'Olaf Olduser', kind: 'not-accepted' },
];

export interface Profile {
  /** messages per normal user, ± `jitter` (deterministic per user) */
  messages: number;
  jitter: number;
  /** how many normal users (the first ones) get one large message, and its size range */
  largeMessages: number;
  largeMessageMb: [number, number];
  sizeModel: 'log' | 'heavy';
  contacts: number;
  events: number;
  edgeMessages: number;
}

export const PROFILES = {
  small: { messages: 200, jitter: 10, largeMessages: 1, largeMessageMb: [10, 10], sizeModel: 'log', contacts: 50, events: 30, edgeMessages: 15 },
  default: { messages: 2000, jitter: 100, largeMessages: 3, largeMessageMb: [10, 25], sizeModel: 'log', contacts: 50, events: 30, edgeMessages: 15 },
  bench: { messages: 2000, jitter: 0, largeMessages: 3, largeMessageMb: [10, 25], sizeModel: 'heavy', contacts: 50, events: 30, edgeMessages: 15 },
} satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;
