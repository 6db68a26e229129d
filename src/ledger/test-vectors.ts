/**
 * Published test vectors shared by the ledger's tests (docs: shared/docs/tlog-vectors.md).
 * Test-only: nothing in the library imports this file.
 */

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');
export const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

/** transparency-dev/merkle testonly/constants.go LeafInputs. */
export const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);

/** L(d0)..L(d7). */
export const LEAF_HASHES = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
  '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
  'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
].map(hex);

/** transparency-dev/merkle RootHashes: root of the first n leaves, n = 0..8. */
export const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(hex);

/** The same roots as a checkpoint carries them (base64). */
export const ROOTS_BASE64 = [
  '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
  'bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=',
  '+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=',
  'rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=',
  '037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=',
  'Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=',
  'duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=',
  '3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw=',
  'XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=',
];

/** Interior nodes named as in the RFC 9162 §2.1.5 figure. */
export const RFC_NODES = {
  g: hex('fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'),
  h: hex('5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e'),
  i: hex('0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a'),
  k: hex('d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'),
  l: hex('837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e'),
  /** Level-1 node over leaves 6-7 and level-2 node over leaves 4-7 of the 8-tree. */
  n67: hex('ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0'),
  n4567: hex('6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'),
};

/** C2SP signed-note.md "Example". */
export const C2SP_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
export const C2SP_NOTE =
  'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

/** golang.org/x/mod sumdb/note note_test.go (public test keys). */
export const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
export const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
export const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
export const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
export const PETER_SIGNATURE_LINE = '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
export const ENOCH_SIGNATURE_LINE = '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

/** transparency-dev/formats log/note_test.go TestSumDBNoteParsing: a real sum.golang.org checkpoint. */
export const SUMDB_VKEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';
export const SUMDB_CHECKPOINT =
  'go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n\u2014 sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n';

/** Self-generated (tlog-vectors.md §5): the Go test key signing the 8-leaf root; origin == key name. */
export const PETER_CHECKPOINT =
  'PeterNeumann\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n\u2014 PeterNeumann x08gozdSgLMzAnw63LH1RGViJhUfW60EUGKY7Kmr004fQNOSqfrcd1hIk3BCtdcLWIqvGtX67sL24VN+44uTlxMnbAA=\n';

/** sigstore-js checkpoint.test.ts: a Rekor v1 checkpoint (ECDSA, with an extension line). */
export const REKOR_CHECKPOINT_BODY =
  'rekor.sigstore.dev - 2605736670972794746\n21428036\nrxnoKyFZlJ7/R6bMh/d3lcqwKqAy5CL1LcNBJP17kgQ=\nTimestamp: 1688058656037355364\n';
export const REKOR_CHECKPOINT = `${REKOR_CHECKPOINT_BODY}\n\u2014 rekor.sigstore.dev wNI9ajBFAiEAuDk7uu5Ae8Own/MjhSZNuVzbLuYH2jBMxbSA0WaNDNACIDV4reKpYiOpkwtvazCClnpUuduF2o/th2xR3gRZAUU4\n`;
