/**
 * `migration complete --check-mx`: where the domain's mail goes now. The
 * seed's best practice is to point MX at the cloud (with a short TTL) before
 * completing; this is a warning the admin reads, never a hard stop, and a
 * failing lookup says so instead of guessing.
 */
import { Resolver } from 'node:dns/promises';

export interface MxReport {
  domain: string;
  ok: boolean;
  /** one line per MX host, or why the lookup failed */
  lines: string[];
}

export async function checkMx(domain: string, servers?: string[]): Promise<MxReport> {
  const resolver = new Resolver({ timeout: 3000, tries: 1 });
  if (servers?.length) resolver.setServers(servers);
  try {
    const mx = (await resolver.resolveMx(domain)).sort((a, b) => a.priority - b.priority);
    if (mx.length === 0) return { domain, ok: false, lines: [`${domain} has no MX record: mail for it cannot be delivered`] };
    const lines = await Promise.all(
      mx.map(async (r) => {
        // Node's resolver gives TTLs for address records only: the MX host's A record TTL bounds how fast a change is seen
        const ttl = await resolver
          .resolve4(r.exchange, { ttl: true })
          .then((a) => (a.length ? `A record TTL ${Math.min(...a.map((x) => x.ttl))} s` : 'no A record'))
          .catch((err: NodeJS.ErrnoException) => `A record lookup failed (${err.code ?? err.message})`);
        return `MX ${r.priority} ${r.exchange} (${ttl})`;
      }),
    );
    return { domain, ok: true, lines };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return {
      domain,
      ok: false,
      lines: [
        `Could not look up the MX records of ${domain} (${code}): DNS is not reachable from here; check where MX points before users are told`,
      ],
    };
  }
}
