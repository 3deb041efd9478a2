/** The SMTP sink (aiosmtpd from Debian's python3, with lab/smtp/mflab_sink.py as handler). */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_HOST, PORTS, paths } from '../config';
import { spawnDetached } from '../proc';

// Debian's interpreter: the python3 on PATH may be a pyenv build without aiosmtpd
const PYTHON = '/usr/bin/python3';

export function configureSmtp(): void {
  mkdirSync(paths.smtp.messages, { recursive: true });
}

export function startSmtp(): void {
  const env = { ...process.env, PYTHONPATH: join(__dirname, '..', 'smtp'), PYTHONUNBUFFERED: '1' };
  spawnDetached(
    'smtp',
    PYTHON,
    ['-m', 'aiosmtpd', '-n', '-u', '-l', `${LAB_HOST}:${PORTS.smtp}`, '-c', 'mflab_sink.Sink', paths.smtp.messages],
    paths.smtp.log,
    env,
  );
}
