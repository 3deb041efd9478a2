/**
 * Deterministic randomness: the same seed and label give the same organisation
 * on every machine. sfc32 for choices; AES-CTR for bulk bytes (attachments of
 * many megabytes), which is both deterministic and fast.
 */
import { createCipheriv, createHash } from 'node:crypto';

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private readonly key: Buffer;
  private blocks = 0;

  constructor(readonly label: string) {
    const h = createHash('sha256').update(label).digest();
    this.a = h.readUInt32LE(0);
    this.b = h.readUInt32LE(4);
    this.c = h.readUInt32LE(8);
    this.d = h.readUInt32LE(12);
    this.key = h.subarray(16, 32);
  }

  /** an independent stream, so adding draws in one place does not shift another */
  derive(label: string): Rng {
    return new Rng(`${this.label}/${label}`);
  }

  /** [0, 1) */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** integer in [min, max] */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** log-uniform in [min, max]: many small values, a long tail of large ones */
  logUniform(min: number, max: number): number {
    return Math.round(Math.exp(Math.log(min) + this.next() * (Math.log(max) - Math.log(min))));
  }

  hex(length: number): string {
    let out = '';
    while (out.length < length) out += Math.floor(this.next() * 0x100000000).toString(16).padStart(8, '0');
    return out.slice(0, length);
  }

  /** pseudo-random bytes (incompressible, like real attachments) */
  bytes(length: number): Buffer {
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(this.blocks++, 12);
    const cipher = createCipheriv('aes-128-ctr', this.key, iv);
    return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
  }
}
