/** Runs a batch to the end through faults: stopped or failed rows are resumed (`batch resume --failed`) until none is left. */
import type { Session } from '../../../client/connection';
import { startBatch } from '../../../client/batch';
import { batchWorkflowId, type BatchResult, type BatchSource } from '../../../workflows/definitions';

export interface Finished {
  /** every batch run for this source, the first one included */
  results: BatchResult[];
  resumes: number;
}

async function waitResult(session: Session, org: string, batch: number): Promise<BatchResult> {
  // A result() call rides out a Temporal restart only until its connection gives up: ask again.
  for (let attempt = 0; ; attempt++) {
    try {
      return (await session.client.workflow.getHandle(batchWorkflowId(org, batch)).result()) as BatchResult;
    } catch (err) {
      if (attempt >= 60) throw err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

export async function startFleetBatch(session: Session, org: string, source: BatchSource): Promise<number> {
  return (await startBatch(session, org, { startedBy: 'faults', notify: [], source })).batch;
}

export async function finishBatch(session: Session, org: string, batch: number, maxResumes = 3): Promise<Finished> {
  const results = [await waitResult(session, org, batch)];
  let resumes = 0;
  while (results.at(-1)!.failed + results.at(-1)!.stopped > 0 && resumes < maxResumes) {
    resumes++;
    const n = await startFleetBatch(session, org, { kind: 'resume', failedOfBatch: results.at(-1)!.batch });
    results.push(await waitResult(session, org, n));
  }
  return { results, resumes };
}
