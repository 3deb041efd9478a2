export { createSourceDirectory, TargetAddressMissingError } from './source';
export { createCloudDirectory, type CloudDirectoryConfig } from './cloud';
export type { DirectoryConfig } from './session';
export { verifyMeu, preflight, type MeuCheck, type MeuFound, type PreflightResult } from './verify';
export { meetsPasswordPolicy } from './password';
export * from './types';
