/**
 * A run counts only if the lab's verifier finds every message on the target,
 * byte-identical (after the peer's own tracking header is stripped), with
 * its flags and INTERNALDATE. Findings are summarised, and keyword-only
 * differences are counted apart: they say what a failing tool loses. A peer
 * that cannot carry keywords at all (isync 1.4 and offlineimap 8 copy IMAP
 * system flags only) is verified on everything else, and its verdict says
 * how many messages lost theirs; mailferry's runs are never let off.
 */
import { verifyMailbox, type VerifyReport } from '../lab/verify';
import type { BenchMailbox } from './lab';

export interface Verdict {
  ok: boolean;
  missing: number;
  extra: number;
  different: number;
  /** differences where only $-keywords (e.g. $Project) were lost or changed */
  keywordsOnly: number;
  /** the tool copies no keywords: keyword-only differences do not fail it (they are still counted and printed) */
  keywordsExcused: boolean;
  /** the first findings, for the report */
  sample: string[];
}

const KEYWORDS_ONLY = /^flags \[[^\]]*\] on the source, \[[^\]]*\] on the target$/;

function keywordOnly(reason: string): boolean {
  if (!KEYWORDS_ONLY.test(reason)) return false;
  const [src, tgt] = [...reason.matchAll(/\[([^\]]*)\]/g)].map((m) =>
    m[1]
      .split(' ')
      .filter((f) => f.startsWith('\\'))
      .sort()
      .join(' '),
  );
  return src === tgt;
}

export async function verifyAll(boxes: BenchMailbox[], ignoreHeaderPrefixes: string[] = [], copiesNoKeywords = false): Promise<Verdict> {
  const reports: VerifyReport[] = await Promise.all(boxes.map((b) => verifyMailbox(b.source, b.target, { ignoreHeaderPrefixes })));
  const findings = reports.flatMap((r) => r.findings);
  const keywordsOnly = findings.filter((f) => f.kind === 'different' && keywordOnly(f.reason)).length;
  const equal = reports.every((r) => r.equal);
  return {
    ok: equal || (copiesNoKeywords && findings.length === keywordsOnly),
    missing: reports.reduce((n, r) => n + r.missing, 0),
    extra: reports.reduce((n, r) => n + r.extra, 0),
    different: reports.reduce((n, r) => n + r.different, 0),
    keywordsOnly,
    keywordsExcused: copiesNoKeywords,
    sample: findings.slice(0, 3).map((f) => `${f.kind} ${f.folder || f.targetFolder} "${f.subject ?? ''}": ${f.reason}`),
  };
}

export function verdictText(v: Verdict): string {
  if (v.ok && v.keywordsOnly) return `verified but for keywords (the tool copies none: ${v.keywordsOnly} messages lost theirs)`;
  if (v.ok) return 'verified';
  const parts = [v.missing && `${v.missing} missing`, v.extra && `${v.extra} extra`, v.different && `${v.different} different`].filter(
    Boolean,
  );
  return `FAILED: ${parts.join(', ')}${v.keywordsOnly ? ` (${v.keywordsOnly} only lost keywords)` : ''}`;
}
