/**
 * A load generator process. The runner starts one per server under test (pinned away from the
 * server's core) and drives it over IPC with a few coarse calls; all clients of a scenario live
 * here, on one clock.
 */
import { serveRpc } from '../lib/rpc.ts';
import type { BenchUser } from '../lib/targets.ts';
import { ChatLoad, type ConnectParams, type StepParams } from './chat-load.ts';
import { runHistory, type HistoryParams } from './history-load.ts';
import { runIngest, type IngestParams } from './ingest-load.ts';
import { runStorm, type StormParams } from './login-load.ts';

let chat: ChatLoad | null = null;

serveRpc({
  'chat.connect': (params: ConnectParams) => {
    chat?.close();
    chat = new ChatLoad();
    return chat.connect(params);
  },
  'chat.step': (params: StepParams) => need(chat).step(params),
  'chat.add': (users: BenchUser[]) => need(chat).add(users),
  'chat.reconnect': () => need(chat).reconnect(),
  'chat.open': () => need(chat).openCount(),
  'history.run': (params: HistoryParams) => runHistory(params),
  'ingest.run': (params: IngestParams) => runIngest(params),
  'login.storm': (params: StormParams) => runStorm(params),
  'chat.close': () => {
    chat?.close();
    chat = null;
  },
});

function need<T>(value: T | null): T {
  if (value === null) throw new Error('connect first');
  return value;
}
