/** The policy module's public surface: load once at start, then decide. */
export {
  DEFAULT_DECISION_CACHE_SIZE,
  DEFAULT_POLICY_DIR,
  loadPolicyEngine,
  PolicyEngine,
  type DecideRequest,
  INCIDENT_OPERATIONS,
  type IncidentOperation,
  NOTICE_OPERATIONS,
  type NoticeOperation,
  type DecisionCacheStats,
  type KeyName,
  type LoadOptions,
  MANAGE_OPERATIONS,
  type ManageChange,
  type ManageOperation,
  type RecordList,
  type PolicyDecision,
  type RecordResource,
  type RevealRequest,
  TRIAGE_OPERATIONS,
  type TriageOperation,
} from './engine.ts';
export { UNKNOWN_ACTOR_ID, type ActorStatus, type AlertFacts } from './entities.ts';
export { POLICY_ACTIONS, ROLES_FILE, SCHEMA_FILE, type LoadedPolicy, type PolicyAction } from './load.ts';
export { DENY_REASONS } from './reasons.ts';
export type { Budget, RoleSpec } from './roles.ts';
export { benchRevealDecisions, sampleRevealRequest, type BenchResult } from './bench.ts';
