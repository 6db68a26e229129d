import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { entityFor, loadEntities, parseEntities } from './entities.ts';

const demo = loadEntities(fileURLToPath(new URL('../../config/entities.json', import.meta.url)));

describe('legal entities', () => {
  it('the demo configuration covers the demo organisation\'s ten countries', () => {
    for (const country of ['US', 'GB', 'DE', 'FR', 'IT', 'ES', 'ID', 'CA', 'BR', 'JP']) {
      expect(demo.entityFor({ id: 'c', country }).rule, country).toBe('country');
    }
  });

  it('a UK account holder hears from the UK entity, an Italian one from the EU entity, with its DPO', () => {
    expect(entityFor(demo, { id: 'c1', country: 'GB' }).name).toBe('Example Marketplace UK Ltd');
    const eu = entityFor(demo, { id: 'c2', country: 'IT', region: null });
    expect(eu.country).toBe('IE');
    expect(eu.leadAuthority).toEqual({ jurisdiction: 'IE', name: 'Data Protection Commission' });
    expect(eu.dpo.email).toMatch(/@/);
  });

  it('the customer\'s own entity, then the account list, then region, then country, then the default', () => {
    const config = parseEntities(
      {
        entities: [
          { id: 'a', name: 'A', country: 'US', address: 'x', dpo: { name: 'd', email: 'd@a.example' }, leadAuthority: { jurisdiction: 'US', name: 'FTC' } },
          { id: 'b', name: 'B', country: 'CA', address: 'y', dpo: { name: 'd', email: 'd@b.example' }, leadAuthority: { jurisdiction: 'CA', name: 'OPC' } },
          { id: 'q', name: 'Q', country: 'CA', address: 'z', dpo: { name: 'd', email: 'd@q.example' }, leadAuthority: { jurisdiction: 'CA-QC', name: 'CAI' } },
        ],
        default: 'a',
        byJurisdiction: { CA: 'b', 'CA-QC': 'q' },
        accounts: { 'cus-9': 'a' },
      },
      'entities.json',
    );
    expect(config.entityFor({ id: 'c', country: 'CA', region: 'CA-ON', entity: 'q' })).toMatchObject({ rule: 'customer', entity: { id: 'q' } });
    expect(config.entityFor({ id: 'cus-9', country: 'CA' })).toMatchObject({ rule: 'account', entity: { id: 'a' } });
    expect(config.entityFor({ id: 'c', country: 'CA', region: 'CA-QC' })).toMatchObject({ rule: 'region', entity: { id: 'q' } });
    expect(config.entityFor({ id: 'c', country: 'CA', region: 'CA-ON' })).toMatchObject({ rule: 'country', entity: { id: 'b' } });
    expect(config.entityFor({ id: 'c', country: 'MX' })).toMatchObject({ rule: 'default', entity: { id: 'a' } });
    expect(() => config.entityFor({ id: 'c', country: 'CA', entity: 'zz' })).toThrow(/names entity "zz"/);
  });

  it('a bad configuration is refused, naming the file, the line and the field', () => {
    const source = JSON.stringify(
      {
        entities: [{ id: 'a', name: 'A', country: 'US', address: 'x', dpo: { name: 'd', email: 'not-an-address' }, leadAuthority: { jurisdiction: 'US', name: 'FTC' } }],
        default: 'a',
      },
      null,
      2,
    );
    const err = (() => {
      try {
        parseEntities(JSON.parse(source), 'entities.json', source);
      } catch (e) {
        return e as Error;
      }
      throw new Error('accepted');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    const line = source.split('\n').findIndex((l) => l.includes('not-an-address')) + 1;
    expect(err.message).toBe(`entities: entities.json:${line}: entities[0].dpo.email must be an e-mail address`);
    const good = [{ id: 'a', name: 'A', country: 'US', address: 'x', dpo: { name: 'd', email: 'd@a.example' }, leadAuthority: { jurisdiction: 'US', name: 'FTC' } }];
    expect(() => parseEntities({ entities: good, default: 'nobody' }, 'e.json')).toThrow(/default names entity "nobody"/);
    expect(() => parseEntities({ entities: good, default: 'a', byJurisdiction: { France: 'a' } }, 'e.json')).toThrow(/byJurisdiction\.France keys must be ISO/);
    expect(() => parseEntities({ entities: [...good, ...good], default: 'a' }, 'e.json')).toThrow(/entities\[1\]\.id "a" is used twice/);
  });
});
