import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Moves failure messages and stack traces into an encoded attributes payload,
 * so the payload codec encrypts them too (Temporal never runs codecs on a
 * failure's plain message). Loaded by path (see dataConverterOptions): the
 * workflow bundle needs a module, not an object. Keep this file free of Node APIs.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
