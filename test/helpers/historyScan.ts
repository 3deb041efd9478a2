/**
 * For the secrets scans: every page of a run's history as raw protobuf bytes,
 * and the same history with every encrypted payload decoded with the key (at
 * any depth: inputs, results, failures, memos, heartbeat details), so a scan
 * sees what the Web UI shows through the codec server, not only ciphertext.
 */
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ENCRYPTED_ENCODING } from '../../shared/codec';

export interface ScannedHistory {
  raw: Buffer;
  /** the decoded data of every payload, one after another */
  decoded: Buffer;
  payloads: number;
  undecodable: number;
}

const isPayload = (value: object): value is Payload => 'data' in value && 'metadata' in value;

function payloadsIn(value: unknown, out: Payload[]): Payload[] {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return out;
  if (isPayload(value)) out.push(value);
  for (const child of Object.values(value)) payloadsIn(child, out);
  return out;
}

export async function scanHistory(client: Client, codec: PayloadCodec, workflowId: string, runId?: string): Promise<ScannedHistory> {
  const pages: Buffer[] = [];
  const decoded: Buffer[] = [];
  let payloads = 0;
  let undecodable = 0;
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      nextPageToken,
    });
    pages.push(Buffer.from(temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse.encode(page).finish()));
    for (const payload of payloadsIn(page.history, [])) {
      payloads++;
      const encrypted = Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() === ENCRYPTED_ENCODING;
      try {
        const [plain] = encrypted ? await codec.decode([payload]) : [payload];
        decoded.push(Buffer.from(plain!.data ?? []), Buffer.from('\n'));
      } catch {
        undecodable++;
      }
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return { raw: Buffer.concat(pages), decoded: Buffer.concat(decoded), payloads, undecodable };
}
