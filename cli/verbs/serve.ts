import { defineCommand } from 'citty';
import { serveApi } from '../../core/api/server.ts';
import { usageError } from '../../core/errors.ts';
import { EXIT } from '../../core/exit-codes.ts';
import { dataDirArg, jsonArg, numberFlag, pathsFromArgs, print, printError, printJson } from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'serve',
    description:
      'HTTP API: health, Prometheus metrics, status, decisions, paper order requests, emergency stop, live decision stream (key: env ATL_API_KEY or config/api.json under the data root)',
  },
  args: {
    port: { type: 'string', description: 'TCP port (0 picks a free one)', default: '8080' },
    host: {
      type: 'string',
      description: 'address to listen on (keep loopback unless a proxy or firewall fronts it)',
      default: '127.0.0.1',
    },
    ...dataDirArg,
    ...jsonArg,
  },
  async run({ args }) {
    const port = numberFlag('port', args.port, { min: 0, integer: true }) ?? 8080;
    if (port > 65535) throw usageError(`--port must be at most 65535 (got ${port})`);
    const host = args.host?.trim();
    if (!host) throw usageError('--host must not be empty', 'use 127.0.0.1 (default), ::1 or 0.0.0.0');
    const stop = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      printError(`atl serve: ${sig} received, closing connections\n`);
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await serveApi({ paths: pathsFromArgs(args), host, port }, stop.signal, (server) => {
        if (args.json) printJson({ url: server.url, port: server.port });
        else print(`atl serve: listening on ${server.url} (Ctrl-C to stop)`);
      });
      process.exitCode = EXIT.pass;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
});
