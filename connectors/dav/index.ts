export { createDavCopier } from './copy';
export { countDav, verifyDav } from './verify';
export * from './types';
