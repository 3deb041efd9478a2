/**
 * Certificates for the lab's own TLS servers (the token endpoint and any
 * stand-in that clients insist on reaching over https), signed by the lab CA
 * that also signed the AD DC's certificate (lab/servers/samba.ts), so one
 * `caFile` lets every client verify every lab server.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './proc';
import { dcPaths } from './servers/samba';

export interface ServerCertificate {
  cert: string;
  key: string;
  /** the lab CA (PEM file) clients pass as their trust anchor */
  ca: string;
}

/** A certificate for 127.0.0.1/localhost in `dir`, made once and kept (the CA lives as long as the cached DC). */
export function ensureServerCertificate(dir: string, name: string): ServerCertificate {
  const ca = dcPaths();
  const files = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`), ca: ca.ca };
  if (existsSync(files.cert) && existsSync(files.key)) return files;
  if (!existsSync(ca.caKey)) throw new Error(`the lab CA is missing (${ca.caKey}): run \`lab:up\`, which provisions it with the AD DC`);
  mkdirSync(dir, { recursive: true });
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.key, '-out', csr, '-subj', `/CN=${name}.lab.mailferry`]);
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.ca, '-CAkey', ca.caKey, '-CAcreateserial', '-out', files.cert, '-days', '3650', '-extfile', ext]);
  run('chmod', ['600', files.key]);
  return files;
}
