import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';

/**
 * A command an operator runs on the server's machine against its data folder (backup, restore,
 * export): no server URL, no user; `--data` as `parley serve` takes it.
 */
export interface OperatorCommandSpec {
  name: string;
  summary: string;
  usage: string;
  description: string;
  /** Options besides --data and --help: name → [value placeholder or null for a switch, description]. */
  options: Record<string, [string | null, string]>;
  /** How many arguments follow the options. */
  argumentCount: number;
  examples: string[];
  run(context: { dataDir: string; values: Record<string, string | boolean | undefined>; args: string[] }): Promise<void>;
}

const DATA_OPTION: [string, string] = ['<dir>', 'the data folder (env PARLEY_DATA_DIR; default ./data), as for parley serve'];

export function operatorCommand(spec: OperatorCommandSpec) {
  const options = { data: DATA_OPTION, ...spec.options, help: [null, 'show this help'] as [null, string] };
  const help = () => {
    const rows = Object.entries(options).map(([name, [value, description]]) => [`${name === 'help' ? '-h, ' : '    '}--${name}${value ? ` ${value}` : ''}`, description] as const);
    const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
    return [
      `Usage: ${spec.usage}`,
      '',
      spec.description,
      '',
      'Options:',
      ...rows.map(([flag, description]) => `  ${flag.padEnd(width)}${description}`),
      '',
      'Examples:',
      ...spec.examples.map((example) => `  ${example}`),
      '',
    ].join('\n');
  };
  return {
    name: spec.name,
    summary: spec.summary,
    help,
    async run(argv: string[]) {
      let parsed;
      try {
        parsed = parseArgs({
          args: argv,
          options: Object.fromEntries(
            Object.entries(options).map(([name, [value]]) => [name, name === 'help' ? { type: 'boolean' as const, short: 'h' } : { type: value ? ('string' as const) : ('boolean' as const) }]),
          ),
          allowPositionals: true,
          strict: true,
        });
      } catch (error) {
        const { code, message } = error as { code?: string; message: string };
        if (!code?.startsWith('ERR_PARSE_ARGS')) throw error;
        throw new UsageError(message.split('. ')[0]!, spec.name);
      }
      const { values, positionals } = parsed;
      if (values.help) {
        process.stdout.write(help());
        return;
      }
      if (positionals.length !== spec.argumentCount) {
        throw new UsageError(`expected ${spec.argumentCount === 0 ? 'no arguments' : `${spec.argumentCount} argument${spec.argumentCount > 1 ? 's' : ''}`}: ${spec.usage}`, spec.name);
      }
      const data = typeof values.data === 'string' ? values.data : process.env.PARLEY_DATA_DIR || './data';
      await spec.run({ dataDir: resolve(data), values, args: positionals });
    },
  };
}
