/**
 * The ledger: an append-only, tamper-evident log of access decisions (RFC 9162 Merkle tree,
 * C2SP signed checkpoints). It knows nothing of HTTP, the vault or SQL; a store provides
 * LedgerStorage.
 */
export type { LedgerStorage, NodeKey, StoredCheckpoint, StoredEntry, StoredNode } from './storage.ts';
export { canonicalJson } from './canonical-json.ts';
export {
  EMPTY_TREE_ROOT,
  HASH_SIZE,
  MerkleFrontier,
  leafHash,
  nodeHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';
export { consistencyProof, inclusionProof, loadFrontier, rootAt, type ConsistencyProof, type InclusionProof } from './proofs.ts';
export {
  consistencyProofToJson,
  hashFromHex,
  inclusionProofToJson,
  parseProofJson,
  toHex,
  type ConsistencyProofJson,
  type InclusionProofJson,
} from './proof-format.ts';
export {
  ed25519Signer,
  formatSignerKey,
  formatVerifierKey,
  generateNoteKey,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
} from './note.ts';
export {
  formatCheckpoint,
  openCheckpoint,
  openLedgerCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
  type OpenedCheckpoint,
} from './checkpoint.ts';
export {
  SIGNING_KEY_FILE,
  loadOrCreateSigningKeys,
  loadSigningKeys,
  rotateSigningKey,
  type LedgerSigningKeys,
  type SigningKeyOptions,
  type SigningKeyRecord,
} from './signing-key.ts';
export { LedgerAppender, type LedgerAppenderOptions } from './appender.ts';
export { LedgerCheckpointer, type CheckpointerOptions } from './checkpointer.ts';
export {
  verifyConsistencyProofAgainstCheckpoints,
  verifyExport,
  verifyInclusionProofAgainstCheckpoint,
  verifyLedger,
  type LedgerVerification,
  type VerifyExportOptions,
  type VerifyLedgerOptions,
} from './verify.ts';
export { MemoryLedgerStorage } from './memory-storage.ts';
