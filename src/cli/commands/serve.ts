import { CONFIG_HELP } from '../../server/config.ts';
import type { Command } from '../command.ts';

const HELP = `Usage: parley serve [options]

Start the Parley server (the same as npm start).

Options (each is also an environment variable):
${CONFIG_HELP}
  -h, --help           show this help

Examples:
  parley serve
  parley serve --port 9000 --data ./scratch
  parley serve --host 0.0.0.0 --tls self-signed
`;

export const serve: Command = {
  name: 'serve',
  summary: 'start the server',
  help: () => HELP,
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(HELP);
      return;
    }
    // Loaded on demand: the client commands start faster without the server's dependencies.
    const server = await import('../../server/main.ts');
    await server.serve(argv);
  },
};
