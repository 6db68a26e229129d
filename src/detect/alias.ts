/**
 * The analyst's view is pseudonymised: an employee appears as a stable alias, a keyed hash of
 * their id turned into a word and a number ("heron-4821"). The same key gives the same alias
 * everywhere; without the key the alias does not lead back to the id.
 */
import { createHmac } from 'node:crypto';

const WORDS = [
  'heron', 'otter', 'lynx', 'falcon', 'badger', 'marten', 'ibis', 'plover', 'stoat', 'wren', 'egret', 'kestrel', 'osprey', 'puffin', 'raven', 'swift',
  'tern', 'vole', 'weasel', 'bison', 'crane', 'dingo', 'eland', 'finch', 'gecko', 'hare', 'impala', 'jackal', 'koala', 'lemur', 'merlin', 'newt',
  'ocelot', 'panda', 'quail', 'robin', 'sable', 'tapir', 'urchin', 'viper', 'walrus', 'yak', 'zebra', 'avocet', 'bittern', 'curlew', 'dunlin', 'eider',
  'fulmar', 'gannet', 'hobby', 'jay', 'kite', 'linnet', 'magpie', 'nightjar', 'oriole', 'pipit', 'redwing', 'siskin', 'teal', 'wigeon', 'shrike', 'lark',
] as const;

/** The development default; deployments pass their own key (a secret), so aliases cannot be recomputed from ids. */
export const DEFAULT_ALIAS_KEY = 'custos-analyst-alias-v1';

export function aliasOf(employee: string, key: string | Uint8Array = DEFAULT_ALIAS_KEY): string {
  const h = createHmac('sha256', key).update(employee).digest();
  return `${WORDS[(h[0] as number) % WORDS.length]}-${1000 + (h.readUInt16BE(1) % 9000)}`;
}
