/**
 * Search attributes written only where they change: every upsert is a
 * history event, and a run its parent started with its attributes set
 * (or a record publishing a change that moved only its memo) has nothing to
 * write. Compares against the run's own attributes, which the SDK keeps up
 * to date from the start and every upsert, so replay sees the same.
 */
import type { SearchAttributePair } from '@temporalio/common';
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

export function upsertChanged(pairs: SearchAttributePair[]): void {
  const current = workflowInfo().typedSearchAttributes;
  const changed = pairs.filter((p) => current.get(p.key as never) !== p.value);
  if (changed.length > 0) upsertSearchAttributes(changed);
}
