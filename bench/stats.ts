/** Medians and ratios of the copy runs: only verified runs count. */
import type { ToolRun } from './copy';

/** the tool whose msg/s the copy step is a share of (ceilingChild.ts) */
export const CEILING = 'ceiling: MULTIAPPEND from memory, 5 at once';

export interface ToolSummary {
  tool: string;
  runs: number;
  verified: number;
  /** median over verified runs; null when none verified */
  medianMs: number | null;
  /** median over all runs that finished, verified or not (to show how fast a failing tool was) */
  medianMsAll: number | null;
  messagesPerSecond: number | null;
  megabytesPerSecond: number | null;
  cpuMs: { client: number; sourceServer: number; targetServer: number } | null;
  peakRss: number | null;
  verdict: string;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summarise(runs: ToolRun[]): ToolSummary[] {
  const tools = [...new Set(runs.map((r) => r.tool))];
  return tools.map((tool) => {
    const all = runs.filter((r) => r.tool === tool);
    const finished = all.filter((r) => !r.error);
    const verified = finished.filter((r) => r.verdict?.ok);
    const counted = verified.length > 0 ? verified : finished;
    const ms = median(verified.map((r) => r.ms));
    const msAll = median(finished.map((r) => r.ms));
    const rateMs = ms ?? msAll;
    const { messages, bytes } = all[0];
    const cpu = (k: 'client' | 'sourceServer' | 'targetServer') => median(counted.filter((r) => r.cpu).map((r) => r.cpu![k])) ?? 0;
    const verdicts = [...new Set(all.map((r) => r.verdictText))];
    return {
      tool,
      runs: all.length,
      verified: verified.length,
      medianMs: ms,
      medianMsAll: msAll,
      messagesPerSecond: rateMs ? (messages * 1000) / rateMs : null,
      megabytesPerSecond: rateMs ? bytes / 2 ** 20 / (rateMs / 1000) : null,
      cpuMs: counted.some((r) => r.cpu)
        ? { client: cpu('client'), sourceServer: cpu('sourceServer'), targetServer: cpu('targetServer') }
        : null,
      peakRss: median(counted.filter((r) => r.peakRss).map((r) => r.peakRss!)),
      verdict: verdicts.join(' | '),
    };
  });
}
