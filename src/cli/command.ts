import { parseArgs } from 'node:util';
import { ParleyClientError } from '../client/index.ts';
import { UsageError, unreachable } from './errors.ts';
import { TokenCache, sessionCachePath } from './token-cache.ts';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** A `parley <name>` command: it parses its own arguments, so `serve` can hand them to the server. */
export interface Command {
  name: string;
  summary: string;
  help(): string;
  run(argv: string[]): Promise<void>;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** How the value reads in help, e.g. `<url>`. */
  value?: string;
  description: string;
}

type Values = Record<string, string | boolean | undefined>;

/** What a client command runs with: the server and user it talks to, its options and arguments. */
export interface Context {
  /** The command's name, for usage errors that point at its help. */
  command: string;
  server: string;
  /** --user or PARLEY_USER; `requireUser` says what to do when it is missing. */
  user: string | undefined;
  values: Values;
  positionals: string[];
  env: NodeJS.ProcessEnv;
  cache: TokenCache;
}

export interface ClientCommandSpec {
  name: string;
  summary: string;
  usage: string;
  description: string;
  options: Record<string, OptionSpec>;
  /** Whether the command takes arguments after its options (its usage line names them). */
  takesArguments?: boolean;
  examples: string[];
  run(context: Context): Promise<void>;
}

const COMMON_OPTIONS: Record<string, OptionSpec> = {
  server: { type: 'string', value: '<url>', description: `the Parley server (env PARLEY_SERVER; default ${DEFAULT_SERVER})` },
  user: { type: 'string', short: 'u', value: '<name>', description: 'your user name (env PARLEY_USER)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** A command that talks to a server as a user: shared options, parsing and help. */
export function clientCommand(spec: ClientCommandSpec): Command {
  const options = { ...spec.options, ...COMMON_OPTIONS };
  const help = () => renderHelp(spec, options);
  return {
    name: spec.name,
    summary: spec.summary,
    help,
    async run(argv) {
      const { values, positionals } = parse(spec, options, argv);
      if (values.help) {
        process.stdout.write(help());
        return;
      }
      const env = process.env;
      const server = serverOrigin(stringValue(values.server) ?? (env.PARLEY_SERVER || DEFAULT_SERVER), spec.name);
      await spec.run({
        command: spec.name,
        server,
        user: stringValue(values.user) ?? (env.PARLEY_USER || undefined),
        values,
        positionals,
        env,
        cache: new TokenCache(sessionCachePath(env)),
      }).catch((error: unknown) => {
        throw notAnswering(error, server) ?? error;
      });
    },
  };
}

function parse(spec: ClientCommandSpec, options: Record<string, OptionSpec>, argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([name, { type, short }]) => [name, short ? { type, short } : { type }]),
      ),
      allowPositionals: spec.takesArguments === true,
      strict: true,
    }) as { values: Values; positionals: string[] };
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    if (!code?.startsWith('ERR_PARSE_ARGS')) throw error;
    // parseArgs explains at length; the first sentence is the useful part.
    const unknown = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'([^']+)'/.exec(message)?.[1] : undefined;
    throw new UsageError(unknown ? `unknown option '${unknown}' for 'parley ${spec.name}'` : message.split('. ')[0]!, spec.name);
  }
}

/** A request that got no answer at all, said as such (the client library says "Cannot reach <url>: <why>"). */
function notAnswering(error: unknown, server: string): Error | null {
  if (!(error instanceof ParleyClientError) || error.code !== 'NETWORK') return null;
  const why = /^Cannot reach \S+: (.*)$/s.exec(error.message)?.[1];
  return why === undefined ? null : unreachable(server, why);
}

function stringValue(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Tokens are cached per server, so every spelling of one server must give the same key. */
function serverOrigin(text: string, command: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--server needs a URL such as ${DEFAULT_SERVER} (got "${text}")`, command);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--server needs an http:// or https:// URL (got "${text}")`, command);
  }
  return url.origin;
}

export function requireUser(context: Context): string {
  if (context.user) return context.user;
  throw new UsageError('say who you are with --user <name> or PARLEY_USER', context.command);
}

/** A whole number option within bounds, or undefined when absent. */
export function integerOption(context: Context, name: string, min: number, max: number): number | undefined {
  const text = stringValue(context.values[name]);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`--${name} takes a whole number from ${min} to ${max} (got "${text}")`, context.command);
  }
  return value;
}

function renderHelp(spec: ClientCommandSpec, options: Record<string, OptionSpec>): string {
  const rows = Object.entries(options).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : '    '}--${name}${option.value ? ` ${option.value}` : ''}`;
    return [flag, option.description] as const;
  });
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
}
