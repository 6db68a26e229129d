import { Option, type Command } from 'commander';
import { issueToken, loadOrCreateTokenIssuer } from '../identity/tokens.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { configFromFlags, storeOptions, withStore } from './store-flags.ts';
import { actorOf, asOption, CLI_CONTEXT, withActLog, type AsFlag } from './operator.ts';

export function registerToken(program: Command): void {
  const token = program.command('token').description('bearer tokens for the API');
  asOption(storeOptions(
    token
      .command('issue')
      .description('mint a short-lived token for an employee (embedded/demo use); printed alone on the last line')
      .requiredOption('--employee <id>', 'the employee the token speaks for')
      .addOption(new Option('--ttl <seconds>', 'lifetime in seconds (30..86400; env CUSTOS_TOKEN_TTL, default 3600)')),
  )).action(async (opts: AsFlag & { employee: string; ttl?: string; data?: string; store?: string }) => {
    const config = configFromFlags(opts);
    const ttl = opts.ttl === undefined ? config.auth.tokenTtlSeconds : Number(opts.ttl);
    if (!Number.isInteger(ttl) || ttl < 30 || ttl > 86_400) throw new InvalidInputError(`--ttl must be a whole number of seconds from 30 to 86400, got "${opts.ttl}"`, { field: 'ttl' });
    const actor = actorOf(opts);
    await withStore(opts, async (store, config) => {
      const employee = await store.employees.get(opts.employee);
      if (!employee) throw new NotFoundError(`no employee "${opts.employee}" in ${store.describe()}`);
      // Recorded before the token exists; the record never holds the token.
      await withActLog(store, config, (acts) => acts.authorize(actor, {
        request: { action: 'issue_token', resource: { type: 'Employee', employee } },
        action: 'update',
        target: { type: 'token', id: employee.id },
        operation: 'issue',
        details: { ttlSeconds: ttl },
      }, CLI_CONTEXT));
    });
    const issuer = await loadOrCreateTokenIssuer(config.keyDir);
    const jwt = await issueToken(issuer, { subject: opts.employee, issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: ttl, now: new Date() });
    process.stderr.write(`token for ${opts.employee}, valid ${ttl} s:\n`);
    process.stdout.write(`${jwt}\n`);
  });
}
