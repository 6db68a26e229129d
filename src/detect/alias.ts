/**
 * The analyst's view is pseudonymised: an employee appears as a stable alias, a keyed hash of
 * their id turned into two words and two four-digit numbers ("heron-otter-4821-7395"). The same
 * key gives the same alias everywhere; without the key the alias does not lead back to the id.
 *
 * Two employees must never show as one, and no table of aliases is kept to check against, so
 * the space is made wide: 256² word pairs × 9000² numbers ≈ 5.3 × 10¹², about 42 bits. By the
 * birthday bound the chance that any two of n employees share an alias is about n² / (2 × 5.3 ×
 * 10¹²): 4 × 10⁻⁷ for 2,000 employees, 0.1 % for 100,000. (A word and one number, 64 × 9000,
 * made a shared alias near certain at 2,000.)
 */
import { createHmac } from 'node:crypto';

/** 256 animals: one byte of the hash picks one. */
const WORDS = [
  'heron', 'otter', 'lynx', 'falcon', 'badger', 'marten', 'ibis', 'plover', 'stoat', 'wren', 'egret', 'kestrel',
  'osprey', 'puffin', 'raven', 'swift', 'tern', 'vole', 'bison', 'crane', 'dingo', 'eland', 'finch', 'gecko', 'hare',
  'impala', 'koala', 'lemur', 'merlin', 'newt', 'ocelot', 'panda', 'quail', 'robin', 'sable', 'tapir', 'urchin',
  'walrus', 'yak', 'zebra', 'avocet', 'bittern', 'curlew', 'dunlin', 'eider', 'fulmar', 'gannet', 'hobby', 'jay',
  'kite', 'linnet', 'magpie', 'nightjar', 'oriole', 'pipit', 'redwing', 'siskin', 'teal', 'wigeon', 'shrike', 'lark',
  'auk', 'bunting', 'chough', 'coot', 'crake', 'cuckoo', 'dipper', 'dotterel', 'dove', 'eagle', 'fieldfare',
  'flamingo', 'godwit', 'goldcrest', 'goose', 'goshawk', 'grebe', 'grouse', 'gull', 'harrier', 'hawk', 'hoopoe',
  'jackdaw', 'lapwing', 'loon', 'mallard', 'martin', 'moorhen', 'nuthatch', 'owl', 'parakeet', 'partridge', 'pelican',
  'petrel', 'pheasant', 'pigeon', 'redshank', 'redstart', 'rook', 'sandpiper', 'skua', 'skylark', 'snipe', 'sparrow',
  'spoonbill', 'starling', 'stilt', 'stork', 'swallow', 'swan', 'thrush', 'wagtail', 'warbler', 'waxwing', 'wheatear',
  'whimbrel', 'whinchat', 'aardvark', 'alpaca', 'antelope', 'beaver', 'bobcat', 'buffalo', 'camel', 'caribou',
  'cheetah', 'chamois', 'civet', 'cougar', 'coyote', 'deer', 'donkey', 'dormouse', 'elk', 'ermine', 'ferret', 'fox',
  'gazelle', 'gerbil', 'gibbon', 'giraffe', 'gnu', 'gopher', 'gorilla', 'hamster', 'hedgehog', 'hippo', 'hyena',
  'ibex', 'jaguar', 'kudu', 'llama', 'lion', 'mink', 'mongoose', 'moose', 'muskox', 'narwhal', 'numbat', 'okapi',
  'oryx', 'pangolin', 'panther', 'pika', 'possum', 'puma', 'quokka', 'rabbit', 'raccoon', 'reindeer', 'rhino', 'seal',
  'serval', 'shrew', 'sloth', 'squirrel', 'tamarin', 'tiger', 'vicuna', 'wallaby', 'warthog', 'whale', 'wildcat',
  'wolf', 'wombat', 'dolphin', 'orca', 'manatee', 'dugong', 'marmot', 'meerkat', 'chipmunk', 'lemming', 'jerboa',
  'coati', 'agouti', 'capybara', 'tarsier', 'loris', 'macaque', 'baboon', 'bonobo', 'margay', 'caracal', 'carp',
  'pike', 'perch', 'trout', 'salmon', 'minnow', 'tuna', 'marlin', 'eel', 'sturgeon', 'herring', 'mackerel', 'cod',
  'haddock', 'plaice', 'turbot', 'bream', 'anchovy', 'sardine', 'grouper', 'wrasse', 'skate', 'iguana', 'skink',
  'tortoise', 'turtle', 'python', 'toad', 'frog', 'axolotl', 'beetle', 'cricket', 'mantis', 'moth', 'hornet', 'bee',
  'termite', 'firefly', 'cicada', 'crab', 'lobster', 'shrimp', 'squid', 'octopus', 'nautilus', 'oyster', 'mussel',
  'clam', 'limpet', 'starfish', 'coral',
] as const;

/** The development default; deployments pass their own key (a secret), so aliases cannot be recomputed from ids. */
export const DEFAULT_ALIAS_KEY = 'custos-analyst-alias-v1';

export function aliasOf(employee: string, key: string | Uint8Array = DEFAULT_ALIAS_KEY): string {
  const h = createHmac('sha256', key).update(employee).digest();
  // 2³² is 477,218 × 9000 and a little: the numbers' bias is under one in 400,000.
  const number = (at: number) => 1000 + (h.readUInt32BE(at) % 9000);
  return `${WORDS[h[0] as number]}-${WORDS[h[1] as number]}-${number(2)}-${number(6)}`;
}
