import { isIP, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { check } from '../evidence/envelope.ts';
import type { Check } from '../schema/evidence.ts';
import type { Resolver } from './transport.ts';

/** Network-level probes of `atl doctor`: can this host find and reach the exchange at all? */
const HINTS = {
  dns: 'check the resolver (`getent hosts HOST`, /etc/resolv.conf, the VPN or Tailscale DNS) or give another base with --exchange-url',
  tcp: 'check the firewall, an HTTP(S) proxy, or whether the exchange blocks this region',
  tls: 'check the host clock and CA certificates (`update-ca-certificates`), or a TLS-intercepting proxy',
};

const isLoopback = (address: string) => /^127\.|^::1$|^::ffff:127\./.test(address);

/** Nothing listens on a loopback port: no firewall or region block is involved, the server is down. */
const refusedLoopbackHint = (port: number) =>
  `nothing listens on 127.0.0.1:${port} (no firewall is involved on loopback): start the server meant to answer there (a local proxy, or the test exchange \`npx bun tests/support/fake-binance.ts --port ${port}\`), or fix the port in --exchange-url`;

export async function probeDns(
  resolver: Resolver,
  host: string,
  timeoutMs: number,
): Promise<{ check: Check; address: string | null }> {
  if (isIP(host))
    return {
      address: host,
      check: check({
        id: `dns:${host}`,
        status: 'pass',
        output: `${host} is an address (no lookup)`,
        observed: { address: host },
      }),
    };
  const t0 = performance.now();
  try {
    const address = await withTimeout(resolver.lookup(host), timeoutMs, 'timeout');
    const ms = Math.round(performance.now() - t0);
    return {
      address,
      check: check({
        id: `dns:${host}`,
        status: 'pass',
        output: `${host} → ${address} (${ms} ms)`,
        observed: { address, ms },
      }),
    };
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message;
    return {
      address: null,
      check: check({
        id: `dns:${host}`,
        status: 'fail',
        output: `dns_failure:${host} (${code})`,
        observed: { error: code },
        hint: HINTS.dns.replace('HOST', host),
      }),
    };
  }
}

/** Open a TCP (or TLS) connection and close it: does the network let us reach the exchange at all? */
export function probeSocket(
  kind: 'tcp' | 'tls',
  host: string,
  address: string,
  port: number,
  timeoutMs: number,
): Promise<Check> {
  const id = `${kind}:${host}:${port}`;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const socket =
      kind === 'tcp'
        ? tcpConnect({ host: address, port })
        : tlsConnect({ host: address, port, ...(isIP(host) ? {} : { servername: host }) }); // SNI takes names only
    const done = (c: Check) => {
      socket.destroy();
      resolve(c);
    };
    const timer = setTimeout(
      () =>
        done(
          check({
            id,
            status: 'fail',
            output: `no ${kind.toUpperCase()} connection within ${timeoutMs} ms (timeout)`,
            hint: HINTS[kind],
          }),
        ),
      timeoutMs,
    );
    socket.once(kind === 'tcp' ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - t0);
      const protocol = kind === 'tls' ? ` ${(socket as ReturnType<typeof tlsConnect>).getProtocol()}` : '';
      done(
        check({
          id,
          status: 'pass',
          output: `connected to ${address}:${port}${protocol} in ${ms} ms`,
          observed: { ms },
          unit: 'ms',
        }),
      );
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const reason = err.code === 'ECONNREFUSED' ? 'connection_refused' : (err.code ?? err.message);
      done(
        check({
          id,
          status: 'fail',
          output: `${reason}: ${err.message}`,
          observed: { error: err.code ?? null },
          hint: err.code === 'ECONNREFUSED' && isLoopback(address) ? refusedLoopbackHint(port) : HINTS[kind],
        }),
      );
    });
  });
}

/** `p`, or a rejection with `code` after `ms` (getaddrinfo itself can stall for many seconds). */
function withTimeout<T>(p: Promise<T>, ms: number, code: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(code), { code })), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}
