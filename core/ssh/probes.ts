import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';

export type ResolveResult =
  | { ok: true; addresses: string[] }
  | { ok: false; kind: 'dns_not_found' | 'dns_temporary'; message: string };

export type TcpBannerResult =
  | {
      stage: 'tcp';
      ok: false;
      kind: 'refused' | 'tcp_timeout' | 'unreachable' | 'tcp_error';
      message: string;
      address: string;
    }
  | {
      stage: 'banner';
      ok: false;
      kind: 'banner_timeout' | 'closed_by_remote' | 'not_ssh';
      message: string;
      address: string;
      connectMs: number;
    }
  | { stage: 'banner'; ok: true; banner: string; address: string; connectMs: number };

export type ProcessResult = {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  spawnError: string | null;
  elapsedMs: number;
};

/** The outside world of ssh-check, passed in so the ladder's logic is testable with plain fixtures. */
export type SshProbes = {
  resolve(hostname: string, timeoutMs: number): Promise<ResolveResult>;
  tcpBanner(address: string, port: number, timeoutMs: number): Promise<TcpBannerResult>;
  run(argv: string[], timeoutMs: number): Promise<ProcessResult>;
};

async function resolve(hostname: string, timeoutMs: number): Promise<ResolveResult> {
  if (isIP(hostname)) return { ok: true, addresses: [hostname] };
  let timer: Timer | undefined;
  const timeout = new Promise<ResolveResult>((done) => {
    timer = setTimeout(
      () =>
        done({
          ok: false,
          kind: 'dns_temporary',
          message: `no answer for ${hostname} within ${timeoutMs} ms`,
        }),
      timeoutMs,
    );
  });
  const answer = lookup(hostname, { all: true }).then(
    (found): ResolveResult => ({ ok: true, addresses: found.map((a) => a.address) }),
    (err: NodeJS.ErrnoException): ResolveResult =>
      err.code === 'ENOTFOUND' || err.code === 'ENODATA'
        ? {
            ok: false,
            kind: 'dns_not_found',
            message: `Could not resolve hostname ${hostname}: Name or service not known`,
          }
        : {
            ok: false,
            kind: 'dns_temporary',
            message: `Could not resolve hostname ${hostname}: ${err.code ?? err.message}`,
          },
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const TCP_KINDS: Record<string, 'refused' | 'tcp_timeout' | 'unreachable'> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'tcp_timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
};

/**
 * Connect, then read the server's identification line (RFC 4253 §4.2: lines before `SSH-` are
 * allowed). We answer with our own identification before closing so sshd logs a clean disconnect.
 */
function tcpBanner(address: string, port: number, timeoutMs: number): Promise<TcpBannerResult> {
  return new Promise((done) => {
    const started = performance.now();
    const socket = new Socket();
    let connectMs: number | null = null;
    let buffered = '';
    const finish = (r: TcpBannerResult) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      done(r);
    };
    const timer = setTimeout(() => {
      if (connectMs === null)
        finish({
          stage: 'tcp',
          ok: false,
          kind: 'tcp_timeout',
          message: `connect to host ${address} port ${port}: Connection timed out`,
          address,
        });
      else
        finish({
          stage: 'banner',
          ok: false,
          kind: 'banner_timeout',
          message: `Connection timed out during banner exchange (${timeoutMs} ms)`,
          address,
          connectMs,
        });
    }, timeoutMs);
    socket.once('connect', () => {
      connectMs = Math.round(performance.now() - started);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (const line of buffered.split('\n').slice(0, -1)) {
        const text = line.replace(/\r$/, '');
        if (text.startsWith('SSH-')) {
          socket.write('SSH-2.0-atl_ssh_check\r\n');
          finish({ stage: 'banner', ok: true, banner: text, address, connectMs: connectMs ?? 0 });
          return;
        }
      }
      if (buffered.length > 8192 || (!buffered.startsWith('SSH-') && /^(HTTP|<|\{)/.test(buffered))) {
        finish({
          stage: 'banner',
          ok: false,
          kind: 'not_ssh',
          message: `not an SSH server: ${JSON.stringify(buffered.slice(0, 60))}`,
          address,
          connectMs: connectMs ?? 0,
        });
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connectMs === null) {
        const kind = TCP_KINDS[err.code ?? ''] ?? 'tcp_error';
        const reason = kind === 'refused' ? 'Connection refused' : (err.code ?? err.message);
        finish({
          stage: 'tcp',
          ok: false,
          kind,
          message: `connect to host ${address} port ${port}: ${reason}`,
          address,
        });
      } else {
        finish({
          stage: 'banner',
          ok: false,
          kind: 'closed_by_remote',
          message: `Connection reset by peer (${err.code ?? err.message})`,
          address,
          connectMs,
        });
      }
    });
    socket.on('close', () => {
      if (connectMs !== null)
        finish({
          stage: 'banner',
          ok: false,
          kind: 'closed_by_remote',
          message: 'Connection closed by remote host before its banner',
          address,
          connectMs,
        });
    });
    socket.connect({ host: address, port });
  });
}

/** Run a process with no stdin, collect its output, and kill it (whole) at the deadline. */
async function run(argv: string[], timeoutMs: number): Promise<ProcessResult> {
  const started = performance.now();
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    // LC_ALL=C: ssh's messages are matched in English.
    proc = Bun.spawn(argv, {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...process.env, LC_ALL: 'C' },
    });
  } catch (err) {
    return {
      code: null,
      stdout: '',
      stderr: '',
      timedOut: false,
      spawnError: (err as Error).message,
      elapsedMs: 0,
    };
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return {
    code: timedOut ? null : code,
    stdout,
    stderr,
    timedOut,
    spawnError: null,
    elapsedMs: Math.round(performance.now() - started),
  };
}

export const realSshProbes: SshProbes = { resolve, tcpBanner, run };
