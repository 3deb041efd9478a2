/**
 * Where a batch's wall time goes, from the event times of the histories the
 * orchestration section fetches anyway. With at most N rows in flight, a
 * phase lasts about (Σ row spans + Σ empty-slot time) ÷ N, so each row's span
 * (the batch's child start initiated → the batch sees it closed) is split
 * into what the server, the task queues and the worker each took, and what
 * the batch's own workflow tasks leave empty between one row and the next.
 */
import { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

/** One fetched history, as countHistory has it. */
export interface FetchedRun {
  workflowId: string;
  runId: string;
  type: string;
  events: Event[];
}

const millis = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
const at = (e: Event | undefined) => millis(e?.eventTime);

/** mean ms per row of each part of a row's span; `count`: how many of it per row */
export interface RowPart {
  meanMs: number;
  perRow: number;
}

export interface PhaseLatency {
  rows: number;
  /** first child start initiated → last child seen closed by the batch */
  wallMs: number;
  /** mean of (child start initiated → the batch's child-closed event) */
  rowSpanMeanMs: number;
  /** slots × wall − Σ spans, per row: the window stood partly empty (the batch had not yet started the next row) */
  emptySlotMeanMs: number;
  /** the row span split: the parts add up to rowSpanMeanMs (`other`: what no event brackets) */
  parts: Record<string, RowPart>;
}

export interface BatchLatency {
  concurrency: number;
  /** batch started → its first child start initiated: testConnection and prepareRows, and their queueing */
  preludeMs: number;
  /** the batch's own activities (testConnection, prepareRows, writeBatchReport…): ms queued and running, each */
  batchActivities: Record<string, { queueMs: number; runMs: number }>;
  /** last provisioning child seen closed → first copy child initiated: the Mailboxes Ready report */
  readyGapMs: number;
  /** last copy child seen closed → the last batch run closed: Migration Complete report */
  tailMs: number;
  phases: Record<string, PhaseLatency>;
  /** the batch's own workflow tasks (every run): what each row's refill waits on */
  batchTasks: { count: number; queueMeanMs: number; runMeanMs: number; runTotalMs: number };
  /** the record workflows' tasks (started by the ledger's signal- and update-with-start) */
  recordTasks: { perRow: number; queueMeanMs: number; runMeanMs: number };
  /** update-with-start of a record (provisionMailbox's previous TargetAddress): start → update completed */
  recordUpdateMeanMs: number | null;
  /**
   * workflow tasks per row that went to the normal task queue after a run's first, by workflow type: the worker had
   * evicted the run from its cache (maxCachedWorkflows), so it fetched and replayed the whole history
   */
  replaysPerRow: Record<string, number>;
  /** payload bytes stored per row (as encrypted), by workflow type and event type: what the server writes and the codec encrypts */
  payloadBytesPerRow: Record<string, number>;
}

/** bytes of every payload (`{ metadata, data }`) inside one event's attributes */
function payloadBytesIn(value: unknown, depth = 0): number {
  if (!value || typeof value !== 'object' || depth > 12 || value instanceof Uint8Array) return 0;
  const o = value as Record<string, unknown>;
  if (o.data instanceof Uint8Array && 'metadata' in o) return o.data.length;
  let n = 0;
  for (const v of Object.values(o)) n += payloadBytesIn(v, depth + 1);
  return n;
}

const EVENT_NAMES = new Map(
  Object.entries(temporal.api.enums.v1.EventType)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .map(([name, n]) => [n, name.replace('EVENT_TYPE_', '')]),
);
const eventName = (e: Event) => EVENT_NAMES.get(Number(e.eventType)) ?? String(e.eventType);

interface TaskTimes {
  queue: number[];
  run: number[];
}

/** workflow tasks of one history: schedule → start (queue) and start → complete (run), and which ran a local activity */
function workflowTasks(events: Event[]): {
  queue: number[];
  run: number[];
  localRunIdx: Set<number>;
  localMs: number[];
  firstStart: number | null;
} {
  const byId = new Map<string, Event>();
  for (const e of events) byId.set(String(e.eventId), e);
  const queue: number[] = [];
  const run: number[] = [];
  const localRunIdx = new Set<number>();
  const localMs: number[] = [];
  let firstStart: number | null = null;
  const taskOfCompleted = new Map<string, number>();
  for (const e of events) {
    const started = e.workflowTaskStartedEventAttributes;
    if (started) {
      const scheduled = byId.get(String(started.scheduledEventId));
      queue.push(at(e) - at(scheduled));
      if (firstStart === null) firstStart = at(e);
    }
    const completed =
      e.workflowTaskCompletedEventAttributes ?? e.workflowTaskFailedEventAttributes ?? e.workflowTaskTimedOutEventAttributes;
    if (completed) {
      run.push(at(e) - at(byId.get(String(completed.startedEventId))));
      taskOfCompleted.set(String(e.eventId), run.length - 1);
    }
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      const idx = taskOfCompleted.get(String(marker.workflowTaskCompletedEventId));
      if (idx !== undefined) localRunIdx.add(idx);
      const ms = localActivityMs(marker);
      if (ms !== null) localMs.push(ms);
    }
  }
  return { queue, run, localRunIdx, localMs, firstStart };
}

/** the local activity's own time, from the marker core writes: original schedule time → complete time */
function localActivityMs(marker: temporal.api.history.v1.IMarkerRecordedEventAttributes): number | null {
  const raw = marker.details?.data?.payloads?.[0]?.data;
  if (!raw) return null;
  try {
    const d = JSON.parse(new TextDecoder().decode(raw)) as { complete_time?: unknown; original_schedule_time?: unknown };
    const t = (v: unknown) =>
      typeof v === 'string' ? Date.parse(v) : typeof v === 'object' && v ? millis(v as { seconds?: unknown; nanos?: number }) : NaN;
    const ms = t(d.complete_time) - t(d.original_schedule_time);
    return Number.isFinite(ms) ? ms : null;
  } catch {
    return null;
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => (xs.length ? sum(xs) / xs.length : 0);

/** activity tasks of one history by type: schedule → start and start → close */
function activityTasks(events: Event[]): Map<string, TaskTimes> {
  const scheduled = new Map<string, { type: string; at: number }>();
  const started = new Map<string, number>();
  const out = new Map<string, TaskTimes>();
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '?', at: at(e) });
    const st = e.activityTaskStartedEventAttributes;
    if (st) started.set(String(st.scheduledEventId), at(e));
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    if (closed) {
      const sch = scheduled.get(String(closed.scheduledEventId));
      const begun = started.get(String(closed.scheduledEventId));
      if (!sch) continue;
      const times = out.get(sch.type) ?? { queue: [], run: [] };
      // a retried activity's started event is its last attempt's: the earlier attempts and backoffs count as queue
      times.queue.push((begun ?? at(e)) - sch.at);
      times.run.push(at(e) - (begun ?? at(e)));
      out.set(sch.type, times);
    }
  }
  return out;
}

function activityTasksOf(runs: FetchedRun[]): Map<string, TaskTimes> {
  const all = new Map<string, TaskTimes>();
  for (const r of runs)
    for (const [type, t] of activityTasks(r.events)) {
      const into = all.get(type) ?? { queue: [], run: [] };
      into.queue.push(...t.queue);
      into.run.push(...t.run);
      all.set(type, into);
    }
  return all;
}

interface ChildSpan {
  phase: string;
  initiated: number;
  closedSeen: number;
  runId: string | null;
}

/** the batch's children, from its runs: when each was initiated and when the batch saw it close */
function childSpans(batchRuns: FetchedRun[], phaseOf: (runId: string) => string | undefined): ChildSpan[] {
  const spans: ChildSpan[] = [];
  for (const run of batchRuns) {
    const initiated = new Map<string, ChildSpan>();
    for (const e of run.events) {
      const init = e.startChildWorkflowExecutionInitiatedEventAttributes;
      if (init && init.workflowType?.name === 'mailboxWorkflow')
        initiated.set(String(e.eventId), { phase: '?', initiated: at(e), closedSeen: NaN, runId: null });
      const started = e.childWorkflowExecutionStartedEventAttributes;
      if (started) {
        const span = initiated.get(String(started.initiatedEventId));
        if (span) {
          span.runId = started.workflowExecution?.runId ?? null;
          span.phase = (span.runId && phaseOf(span.runId)) ?? '?';
        }
      }
      const closed =
        e.childWorkflowExecutionCompletedEventAttributes ??
        e.childWorkflowExecutionFailedEventAttributes ??
        e.childWorkflowExecutionCanceledEventAttributes ??
        e.childWorkflowExecutionTerminatedEventAttributes ??
        e.childWorkflowExecutionTimedOutEventAttributes;
      if (closed) {
        const span = initiated.get(String(closed.initiatedEventId));
        if (span) span.closedSeen = at(e);
      }
    }
    spans.push(...[...initiated.values()].filter((s) => Number.isFinite(s.closedSeen)));
  }
  return spans;
}

/** a mailbox run's phase, from the activities it scheduled (its input and memo are encrypted) */
function phaseOfRun(run: FetchedRun): string {
  const types = new Set(run.events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean));
  if (types.has('copyMail')) return 'copy';
  if (types.has('provisionMailbox')) return 'provision';
  return 'other';
}

/** Splits the batch's time; `runs`: every history of the organisation (batch runs, mailbox runs, records). */
export function batchLatency(runs: FetchedRun[], batchWorkflowId: string, concurrency: number): BatchLatency {
  const batchRuns = runs.filter((r) => r.workflowId === batchWorkflowId).sort((a, b) => at(a.events[0]) - at(b.events[0]));
  const mailboxRuns = new Map(runs.filter((r) => r.type === 'mailboxWorkflow').map((r) => [r.runId, r]));
  const records = runs.filter((r) => r.type === 'mailboxRecordWorkflow');
  const phaseByRun = new Map([...mailboxRuns].map(([id, r]) => [id, phaseOfRun(r)]));
  const spans = childSpans(batchRuns, (id) => phaseByRun.get(id));

  const phases: Record<string, PhaseLatency> = {};
  for (const phase of ['provision', 'copy']) {
    const mine = spans.filter((s) => s.phase === phase);
    if (!mine.length) continue;
    const wallMs = Math.max(...mine.map((s) => s.closedSeen)) - Math.min(...mine.map((s) => s.initiated));
    const spanMs = mine.map((s) => s.closedSeen - s.initiated);
    const parts: Record<string, number[]> = {};
    const add = (name: string, ms: number) => (parts[name] ??= []).push(ms);
    for (const s of mine) {
      const child = s.runId ? mailboxRuns.get(s.runId) : undefined;
      if (!child) continue;
      const ev = child.events;
      const startedAt = at(ev[0]);
      const closedAt = at(ev[ev.length - 1]);
      const wt = workflowTasks(ev);
      const acts = activityTasks(ev);
      let accounted = 0;
      const part = (name: string, ms: number) => {
        add(name, ms);
        accounted += ms;
      };
      part('server: start child (initiated → child started)', startedAt - s.initiated);
      // the first task comes from the task queue's normal partition, the later ones from this worker's sticky queue
      part('workflow task queue (child): first task', wt.queue[0] ?? 0);
      part('workflow task queue (child): later tasks', sum(wt.queue.slice(1)));
      const localRun = sum([...wt.localRunIdx].map((i) => wt.run[i]!));
      part('workflow task run (child), without local activities', sum(wt.run) - localRun);
      part('local activity tasks (recordOutcome: record signal-with-start)', localRun);
      for (const [type, t] of acts) {
        part(`activity ${type}: queue (scheduled → started)`, sum(t.queue));
        part(`activity ${type}: run (started → closed)`, sum(t.run));
      }
      part('server: child closed → batch sees it', s.closedSeen - closedAt);
      add('other (between events)', s.closedSeen - s.initiated - accounted);
    }
    const n = mine.length;
    const perRow = (name: string) => (parts[name]?.length ?? 0) / n;
    phases[phase] = {
      rows: n,
      wallMs,
      rowSpanMeanMs: mean(spanMs),
      emptySlotMeanMs: (Math.min(concurrency, n) * wallMs - sum(spanMs)) / n,
      parts: Object.fromEntries(Object.entries(parts).map(([name, xs]) => [name, { meanMs: sum(xs) / n, perRow: perRow(name) }])),
    };
  }

  const batchWt = batchRuns.map((r) => workflowTasks(r.events));
  const batchQueue = batchWt.flatMap((w) => w.queue);
  const batchRun = batchWt.flatMap((w) => w.run);
  const recordWt = records.map((r) => workflowTasks(r.events));
  const updates: number[] = [];
  for (const r of records) {
    const completed = r.events.find((e) => e.workflowExecutionUpdateCompletedEventAttributes);
    if (completed && r.events[0]?.workflowExecutionStartedEventAttributes) updates.push(at(completed) - at(r.events[0]));
  }
  const rows = Math.max(1, spans.filter((s) => s.phase === 'provision').length);
  const bytes: Record<string, number> = {};
  const replays: Record<string, number> = {};
  for (const r of runs) {
    const normal = r.events.filter((e) => {
      const kind = e.workflowTaskScheduledEventAttributes?.taskQueue?.kind;
      return kind !== undefined && kind !== null && Number(kind) === temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL;
    }).length;
    replays[r.type] = (replays[r.type] ?? 0) + Math.max(0, normal - 1) / rows;
  }
  for (const r of runs)
    for (const e of r.events) {
      const n = payloadBytesIn(e);
      if (n > 0) bytes[`${r.type} ${eventName(e)}`] = (bytes[`${r.type} ${eventName(e)}`] ?? 0) + n / rows;
    }
  const byPhase = (phase: string) => spans.filter((s) => s.phase === phase);
  const firstInit = (phase: string) => Math.min(...byPhase(phase).map((s) => s.initiated));
  const lastSeen = (phase: string) => Math.max(...byPhase(phase).map((s) => s.closedSeen));
  const batchStart = at(batchRuns[0]?.events[0]);
  const lastRun = batchRuns[batchRuns.length - 1];
  const batchEnd = at(lastRun?.events[lastRun.events.length - 1]);
  return {
    concurrency,
    preludeMs: byPhase('provision').length ? firstInit('provision') - batchStart : NaN,
    batchActivities: Object.fromEntries(
      [...activityTasksOf(batchRuns)].map(([type, t]) => [type, { queueMs: mean(t.queue), runMs: mean(t.run) }]),
    ),
    readyGapMs: byPhase('copy').length && byPhase('provision').length ? firstInit('copy') - lastSeen('provision') : NaN,
    tailMs: byPhase('copy').length ? batchEnd - lastSeen('copy') : NaN,
    phases,
    batchTasks: { count: batchRun.length, queueMeanMs: mean(batchQueue), runMeanMs: mean(batchRun), runTotalMs: sum(batchRun) },
    recordTasks: {
      perRow: sum(recordWt.map((w) => w.run.length)) / rows,
      queueMeanMs: mean(recordWt.flatMap((w) => w.queue)),
      runMeanMs: mean(recordWt.flatMap((w) => w.run)),
    },
    recordUpdateMeanMs: updates.length ? mean(updates) : null,
    replaysPerRow: replays,
    payloadBytesPerRow: bytes,
  };
}

const s1 = (ms: number) => (ms / 1000).toFixed(1);

/** The breakdown as printed, with each phase extrapolated to 1,000 rows at the same concurrency. */
export function renderLatency(l: BatchLatency, rows: number): string[] {
  const out: string[] = [];
  const scale = 1000 / rows;
  out.push(
    `   latency: prelude ${s1(l.preludeMs)} s (testConnection, prepareRows), Mailboxes Ready report ${s1(l.readyGapMs)} s, Migration Complete report ${s1(l.tailMs)} s`,
  );
  if (l.batchActivities)
    out.push(
      `   the batch's activities (queued + run, s each): ${Object.entries(l.batchActivities)
        .map(([type, t]) => `${type} ${s1(t.queueMs)} + ${s1(t.runMs)}`)
        .join(', ')}`,
    );
  for (const [phase, p] of Object.entries(l.phases)) {
    const slots = Math.min(l.concurrency, p.rows);
    out.push(
      `   ${phase}: ${p.rows} rows in ${s1(p.wallMs)} s (× ${scale.toFixed(1)} → ${s1(p.wallMs * scale)} s at 1,000 rows if each row took as long); a row holds a slot ${p.rowSpanMeanMs.toFixed(0)} ms, the slot then stands empty ${p.emptySlotMeanMs.toFixed(0)} ms; wall ≈ (span + empty) × rows ÷ ${slots}`,
    );
    for (const [name, part] of Object.entries(p.parts).sort(([, a], [, b]) => b.meanMs - a.meanMs))
      out.push(
        `     ${name.padEnd(66)} ${part.meanMs.toFixed(0).padStart(6)} ms/row${part.perRow > 1.05 ? ` (${part.perRow.toFixed(1)}×)` : ''}  → ${s1((part.meanMs * 1000) / slots).padStart(6)} s per 1,000 rows`,
      );
  }
  if (l.replaysPerRow)
    out.push(
      `   cache misses (workflow tasks replayed from the whole history) per row: ${Object.entries(l.replaysPerRow)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')}`,
    );
  if (l.payloadBytesPerRow)
    out.push(
      `   payloads stored per row: ${(Object.values(l.payloadBytesPerRow ?? {}).reduce((a, b) => a + b, 0) / 1024).toFixed(1)} KiB; largest kinds: ${Object.entries(
        l.payloadBytesPerRow ?? {},
      )
        .sort(([, a], [, b]) => b - a)
        .slice(0, 6)
        .map(([k, v]) => `${k} ${(v / 1024).toFixed(1)}`)
        .join(', ')}`,
    );
  out.push(
    `   batch workflow tasks: ${l.batchTasks.count} (queue ${l.batchTasks.queueMeanMs.toFixed(0)} ms, run ${l.batchTasks.runMeanMs.toFixed(0)} ms each); record tasks ${l.recordTasks.perRow.toFixed(1)} per row (queue ${l.recordTasks.queueMeanMs.toFixed(0)} ms, run ${l.recordTasks.runMeanMs.toFixed(0)} ms); record update-with-start ${l.recordUpdateMeanMs === null ? '-' : l.recordUpdateMeanMs.toFixed(0)} ms`,
  );
  return out;
}
