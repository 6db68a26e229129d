/** A real `custos serve` process, as an operator runs it, for multi-process tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN } from './cli.ts';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the server wrote so far (its log lines included). */
  stderr(): string;
  /** SIGINT and wait for the exit code. */
  stop(): Promise<number | null>;
}

export function spawnServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    env: { ...process.env, CUSTOS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  // The request log (pino, on stdout) says why a request failed.
  child.stdout!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise<ServerProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 120 s:\n${stderr}`)), 120_000);
    child.stderr!.on('data', (d) => {
      stderr += d;
      const m = /custos listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          child,
          stderr: () => stderr,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`custos serve exited ${code} before listening:\n${stderr}`));
    });
  });
}
