/**
 * The payload gate: the worker acts only on payloads encrypted with
 * mailferry's key (codec.ts marks the rest, the interceptors refuse them).
 */
import type { DataConverter } from '@temporalio/common';
import type { WorkerOptions } from '@temporalio/worker';
import { dataConverterOptions, type AesGcmPayloadCodec } from '../../shared/codec';
import { refuseUnauthenticatedActivityInput } from './activityInterceptor';
import { PayloadGateCodec } from './codec';

export { PAYLOAD_REFUSED } from './refused';

export function gatedDataConverter(codec: AesGcmPayloadCodec): DataConverter {
  return dataConverterOptions(new PayloadGateCodec(codec));
}

/** what Worker.create needs besides the data converter; `activity` lists the worker's other activity interceptors */
export function gateInterceptors(activity: NonNullable<WorkerOptions['interceptors']>['activity'] = []): WorkerOptions['interceptors'] {
  return {
    activity: [refuseUnauthenticatedActivityInput, ...(activity ?? [])],
    workflowModules: [require.resolve('./workflowInterceptors')],
  };
}
