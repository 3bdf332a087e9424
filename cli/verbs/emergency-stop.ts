import { defineCommand } from 'citty';
import { clearEmergencyStop, runEmergencyStop } from '../../core/control/emergency-stop.ts';
import { usageError } from '../../core/errors.ts';
import { dataDirArg, jsonArg, numberFlag, pathsFromArgs, print, printJson } from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'emergency-stop',
    description: 'Set the persistent halt flag, stop the engine and confirm it; --clear lifts the flag',
  },
  args: {
    reason: { type: 'string', description: 'why trading is being halted (required unless --clear)' },
    clear: { type: 'boolean', description: 'lift the halt flag (needs --approver)' },
    approver: { type: 'string', description: 'who approves clearing the halt' },
    grace: {
      type: 'string',
      description: 'seconds to wait for a graceful stop before SIGKILL',
      default: '15',
    },
    ...dataDirArg,
    ...jsonArg,
  },
  async run({ args }) {
    const paths = pathsFromArgs(args);
    if (args.clear && args.reason !== undefined)
      throw usageError(
        '--clear lifts the halt and --reason sets one: give one of them',
        'to halt: `npx atl emergency-stop --reason TEXT`; to lift it: `npx atl emergency-stop --clear --approver NAME`',
      );
    if (args.clear) {
      if (!args.approver?.trim())
        throw usageError('--clear needs --approver NAME', 'name the person approving the restart');
      const { evidence } = clearEmergencyStop(paths, args.approver.trim());
      if (args.json) printJson(evidence);
      else
        print(`Halt cleared by ${args.approver.trim()}. \`npx atl run\` may trade again on ${paths.root}.`);
      process.exitCode = evidence.exit_code;
      return;
    }
    if (!args.reason?.trim())
      throw usageError('emergency-stop needs --reason TEXT (or --clear --approver NAME)');
    const graceS = numberFlag('grace', args.grace, { min: 0 }) ?? 15;
    const { evidence, file } = await runEmergencyStop(paths, {
      reason: args.reason.trim(),
      graceMs: graceS * 1000,
      killGraceMs: 5000,
    });
    const checks = evidence.checks;
    if (args.json) printJson(evidence);
    else {
      print(
        [
          `EMERGENCY STOP — ${evidence.status.toUpperCase()}`,
          ...checks.map((c) => `  [${c.status}] ${c.id}: ${c.output}${c.hint ? ` — ${c.hint}` : ''}`),
          `  evidence: ${file}`,
          '  clear with: npx atl emergency-stop --clear --approver NAME',
        ].join('\n'),
      );
    }
    process.exitCode = evidence.exit_code;
  },
});
