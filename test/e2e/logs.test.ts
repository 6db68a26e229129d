import { afterAll, describe, expect, it } from 'vitest';
import { sqliteTarget } from '../support/stores.ts';
import { startInstance } from '../support/instance.ts';
import { demoCustomer } from '../../src/simulate/demo-org.ts';

describe('request logs', () => {
  const target = sqliteTarget();
  afterAll(() => target.cleanup());

  it('record route, status and actor for every request, and never a PII value or a token', async () => {
    const logLines: string[] = [];
    const t = await startInstance({ store: target.location(), customers: 20, logLines });
    try {
      const token = await t.token('emp-0001');
      const c = demoCustomer(1);
      await t.call('GET', `/v1/customers?email=${encodeURIComponent(c.email)}`, { token });
      await t.call('GET', `/v1/customers?phone=${encodeURIComponent(c.phone)}`, { token });
      await t.call('POST', '/v1/customers/cus-000001/reveal', { token, body: { fields: ['email', 'phone', 'name'], purpose: { kind: 'case', ref: 'case-000001' } } });
      await t.call('POST', '/v1/customers/cus-000001/reveal', { token, body: { fields: ['email', 'phone'], purpose: { kind: 'case', ref: 'case-000001' } } });
      await t.call('POST', '/v1/customers', { token: await t.token('adm-0001'), body: { id: 'x-1', email: 'secret.person@mail.example', phone: '+14155550111', name: 'Secret Person', country: 'US' } });
      await t.call('POST', '/v1/customers', { token, rawBody: '{"email": "broken@mail.example"' });
    } finally {
      await t.stop();
    }
    const all = logLines.join('');
    const requests = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(6);
    expect(requests[0]).toMatchObject({ method: 'GET', route: '/v1/customers', status: 200, actor: 'emp-0001' });
    const c = demoCustomer(1);
    for (const secret of [c.email, encodeURIComponent(c.email), c.phone, encodeURIComponent(c.phone), c.name, 'secret.person', '+14155550111', 'Secret Person', 'broken@mail.example', 'Bearer ']) {
      expect(all.includes(secret), `log contains ${secret}`).toBe(false);
    }
  });
});
