import type { Command } from 'commander';
import { openCustos } from '../app.ts';
import { UnauthenticatedError, InvalidInputError } from '../errors.ts';
import { configFromFlags, storeOptions, type StoreFlags } from './store-flags.ts';
import type { Custos } from '../app.ts';

interface TokenFlags extends StoreFlags {
  token?: string;
}

/** Open Custos and verify the caller's token exactly as the API does. */
async function withActor<T>(opts: TokenFlags, work: (custos: Custos, actor: string) => Promise<T>): Promise<T> {
  const token = opts.token ?? process.env.CUSTOS_TOKEN;
  if (!token) throw new UnauthenticatedError('give a token with --token or CUSTOS_TOKEN (custos token issue --employee ID)');
  const custos = await openCustos(configFromFlags(opts));
  try {
    const { actor } = await custos.verifier.verifyToken(token);
    return await work(custos, actor);
  } finally {
    await custos.close();
  }
}

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

export function registerCustomers(program: Command): void {
  const customers = program.command('customers').description('customer records through the broker: masked, or revealed for a purpose (recorded like any API call)');
  const withToken = (cmd: Command) => storeOptions(cmd).option('--token <jwt>', 'bearer token of the employee acting (env CUSTOS_TOKEN)');

  withToken(customers.command('show').description('a customer with every PII field masked').argument('<id>', 'customer id'))
    .action(async (id: string, opts: TokenFlags) => {
      print(await withActor(opts, (c, actor) => c.broker.viewCustomer(actor, id, { channel: 'cli' })));
    });

  withToken(
    customers
      .command('find')
      .description('find customers by e-mail or phone (blind index), masked')
      .option('--email <address>', 'e-mail address')
      .option('--phone <number>', 'phone number, +<country code>… or national with --country')
      .option('--country <code>', 'ISO 3166-1 alpha-2 country for a national phone number'),
  ).action(async (opts: TokenFlags & { email?: string; phone?: string; country?: string }) => {
    const query = { ...(opts.email ? { email: opts.email } : {}), ...(opts.phone ? { phone: opts.phone } : {}), ...(opts.country ? { country: opts.country } : {}) };
    print(await withActor(opts, (c, actor) => c.broker.searchCustomers(actor, query, { channel: 'cli' })));
  });

  withToken(
    customers
      .command('reveal')
      .description('reveal fields in clear for a case that links you to the customer; 403-class exit with the reason otherwise')
      .argument('<id>', 'customer id')
      .requiredOption('--fields <list>', 'comma-separated fields, e.g. email,phone')
      .option('--case <id>', 'the case that is the purpose of this reveal'),
  ).action(async (id: string, opts: TokenFlags & { fields: string; case?: string }) => {
    const fields = opts.fields.split(',').map((f) => f.trim()).filter(Boolean);
    if (fields.length === 0) throw new InvalidInputError('--fields must name at least one field', { field: 'fields' });
    const purpose = opts.case ? { kind: 'case', ref: opts.case } : undefined;
    print(await withActor(opts, (c, actor) => c.broker.revealFields(actor, id, fields, purpose, { channel: 'cli' })));
  });
}
