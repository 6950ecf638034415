import type { ChildProcess } from 'node:child_process';

/**
 * Request/response over a child process's IPC channel: the runner drives each load generator
 * and server probe with a few coarse calls ("connect 1000 clients", "run one step"), so the
 * channel carries no per-message traffic.
 */
interface Request {
  rpc: number;
  method: string;
  params: unknown;
}
interface Response {
  rpc: number;
  result?: unknown;
  error?: string;
}

export type Handlers = Record<string, (params: any) => unknown>;

/** In the child: answers calls with `handlers`; "exit" ends the process. */
export function serveRpc(handlers: Handlers): void {
  if (!process.send) throw new Error('serveRpc needs an IPC channel (spawn with stdio "ipc")');
  process.on('message', async (raw: unknown) => {
    const request = raw as Request;
    if (typeof request?.rpc !== 'number') return;
    let response: Response;
    try {
      if (request.method === 'exit') {
        process.send!({ rpc: request.rpc, result: null });
        setTimeout(() => process.exit(0), 20);
        return;
      }
      const handler = handlers[request.method];
      if (!handler) throw new Error(`unknown method ${request.method}`);
      response = { rpc: request.rpc, result: (await handler(request.params)) ?? null };
    } catch (error) {
      response = { rpc: request.rpc, error: (error as Error).stack ?? String(error) };
    }
    process.send!(response);
  });
  // The runner going away (even killed) closes the channel: never outlive it.
  process.on('disconnect', () => process.exit(0));
}

/** In the runner: calls into a child started with an IPC channel. */
export class RpcClient {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (raw: unknown) => {
      const response = raw as Response;
      const waiter = this.pending.get(response?.rpc);
      if (!waiter) return;
      this.pending.delete(response.rpc);
      if (response.error !== undefined) waiter.reject(new Error(`in ${child.pid}: ${response.error}`));
      else waiter.resolve(response.result);
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`process ${child.pid} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  call<T = unknown>(method: string, params: unknown = null, timeoutMs = 600_000): Promise<T> {
    const rpc = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rpc);
        reject(new Error(`${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(rpc, {
        resolve: (value) => (clearTimeout(timer), resolve(value as T)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      this.child.send({ rpc, method, params });
    });
  }
}
