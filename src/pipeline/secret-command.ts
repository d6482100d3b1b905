/**
 * A secret from a command (a vault CLI: `pass show …`, `op read …`, `aws secretsmanager …`): its
 * standard output, without the trailing newline, registered for redaction. Killed after 30 s.
 */
import { spawn } from 'node:child_process';
import { EtlError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';

export function runSecretCommand(
  command: string,
  env: Readonly<Record<string, string | undefined>>,
  what = 'the password command',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, {
      shell: true,
      env: { ...env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', (cause) => {
      clearTimeout(timer);
      reject(new EtlError('MISSING_CREDENTIALS', `${what} could not be started`, { cause }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const value = Buffer.concat(out).toString('utf8');
      registerSecret(value.trim());
      if (code !== 0) {
        reject(new EtlError('MISSING_CREDENTIALS', `${what} exited with code ${code ?? 'signal'}`));
      } else if (!value.trim()) {
        reject(new EtlError('MISSING_CREDENTIALS', `${what} printed nothing`));
      } else resolve(value);
    });
  });
}
