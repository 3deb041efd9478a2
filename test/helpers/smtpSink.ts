/**
 * Reads what the lab's SMTP sink received: every message is one `.eml` file in
 * `info.smtp.messagesDir`, parsed here with mailparser.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { LabInfo } from '../../lab/info';

export interface SinkMessage {
  file: string;
  received: Date;
  mail: ParsedMail;
}

export interface SinkFilter {
  /** only messages written at or after this time */
  since?: Date;
  /** only messages whose subject contains this text */
  subject?: string;
}

export async function readSinkMessages(info: LabInfo, filter: SinkFilter = {}): Promise<SinkMessage[]> {
  const dir = info.smtp.messagesDir;
  const files = (await readdir(dir)).filter((f) => f.endsWith('.eml')).sort();
  const messages: SinkMessage[] = [];
  for (const name of files) {
    const file = join(dir, name);
    const received = (await stat(file)).mtime;
    if (filter.since && received < filter.since) continue;
    const mail = await simpleParser(await readFile(file));
    if (filter.subject !== undefined && !(mail.subject ?? '').includes(filter.subject)) continue;
    messages.push({ file, received, mail });
  }
  return messages;
}

/** Polls the sink until a message matching `filter` arrives (the sink writes asynchronously). */
export async function waitForSinkMessage(info: LabInfo, filter: SinkFilter, timeoutMs = 10_000): Promise<SinkMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [message] = await readSinkMessages(info, filter);
    if (message) return message;
    if (Date.now() > deadline)
      throw new Error(`No message matching ${JSON.stringify(filter)} reached the SMTP sink within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
