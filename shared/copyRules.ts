/**
 * The copy rules at their boundaries: `settings set` and `batch start` flags
 * in the CLI, and the copy activity, where they take effect. One zod schema,
 * so both refuse the same bad rule with the same words.
 */
import { z } from 'zod';
import type { CopyRules } from './domain';
import { MailferryError } from './errors';

const folderPath = z
  .string()
  .trim()
  .min(1, 'a folder path cannot be empty')
  .refine((p) => !p.startsWith('/') && !p.endsWith('/') && !p.includes('//'), 'levels are joined by single "/", with none at either end');

export const copyRulesSchema = z
  .object({
    includeFolders: z.array(folderPath).optional(),
    excludeFolders: z.array(folderPath).optional(),
    renameFolders: z
      .record(folderPath, folderPath)
      .refine((r) => !Object.keys(r).some((from) => /[*?]/.test(from)), 'a rename names one folder (no * or ?): FROM=TO')
      .optional(),
    maxAgeDays: z.number().int('a whole number of days').positive('at least 1 day').optional(),
    maxMessageBytes: z.number().int('a whole number of bytes').positive('at least 1 byte').optional(),
  })
  .strict();

/** Checks rules read from settings; a bad one is a permanent error naming the rule (nothing was copied under it). */
export function parseCopyRules(raw: unknown): CopyRules {
  if (raw === undefined || raw === null) return {};
  const parsed = copyRulesSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new MailferryError('COPY_FAILED', `The copy rules are not valid: ${issues(parsed.error)}; set them again with \`mailferry settings set\``);
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'rules'}: ${i.message}`).join('; ');
}

/** The rule flags as commander hands them over (repeatable lists, strings). */
export interface CopyRuleFlags {
  includeFolder?: string[];
  excludeFolder?: string[];
  renameFolder?: string[];
  maxAgeDays?: string;
  maxMessageSize?: string;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?$/i;
const UNITS: Record<string, number> = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** `25MB`, `512k`, `1048576`: the size in bytes, or NaN (the schema then names the flag). */
function bytesOf(value: string): number {
  const m = SIZE.exec(value.trim());
  return m ? Math.round(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!) : Number.NaN;
}

/** The flags as rules, or a message per bad flag; no flag given → undefined (the organisation's rules stay). */
export function copyRulesFromFlags(flags: CopyRuleFlags): { rules?: CopyRules; errors: string[] } {
  const errors: string[] = [];
  const raw: Record<string, unknown> = {};
  if (flags.includeFolder?.length) raw.includeFolders = flags.includeFolder;
  if (flags.excludeFolder?.length) raw.excludeFolders = flags.excludeFolder;
  if (flags.renameFolder?.length) {
    const renames: Record<string, string> = {};
    for (const rule of flags.renameFolder) {
      const at = rule.indexOf('=');
      if (at <= 0 || at === rule.length - 1) errors.push(`--rename-folder ${JSON.stringify(rule)}: expected FROM=TO, e.g. "Sent Items=Sent"`);
      else renames[rule.slice(0, at).trim()] = rule.slice(at + 1).trim();
    }
    raw.renameFolders = renames;
  }
  if (flags.maxAgeDays !== undefined) raw.maxAgeDays = Number(flags.maxAgeDays);
  if (flags.maxMessageSize !== undefined) raw.maxMessageBytes = bytesOf(flags.maxMessageSize);
  if (Object.keys(raw).length === 0) return { errors };
  const parsed = copyRulesSchema.safeParse(raw);
  if (!parsed.success) {
    const flag: Record<string, string> = {
      includeFolders: '--include-folder',
      excludeFolders: '--exclude-folder',
      renameFolders: '--rename-folder',
      maxAgeDays: '--max-age-days',
      maxMessageBytes: '--max-message-size (bytes, or with KB/MB/GB)',
    };
    for (const i of parsed.error.issues) errors.push(`${flag[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`);
    return { errors };
  }
  return { rules: parsed.data, errors };
}
